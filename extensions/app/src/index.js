// Insighter Lab's entry: registers JupyterLab's core plugins and Insighter's
// extensions (the lists come from package.json, see webpack.config.js) and
// starts the application.
import './public-path';

import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { IConnectionStatus, IServiceManager } from '@jupyterlab/services';
import { PluginRegistry } from '@lumino/coreutils';

import {
  disabledPlugins,
  extensions,
  mimeExtensions
} from 'insighter-app-generated/extensions.js';

/**
 * The plugins a module exports, as a flat array. A module's export is kept as
 * it is (never spread): registration relies on the objects themselves.
 */
function pluginsOf(module) {
  const exported = Object.prototype.hasOwnProperty.call(module, '__esModule')
    ? module.default
    : module;
  return Array.isArray(exported) ? exported : [exported];
}

const lspLoaded = extensions.some(
  ({ name }) => name === '@jupyterlab/lsp-extension'
);

function isWanted(plugin) {
  if (!lspLoaded && plugin.id.includes(':language-server')) {
    return false;
  }
  if (disabledPlugins.includes(plugin.id)) {
    return false;
  }
  // Deployments can disable plugins through labconfig/page_config.json.
  return !PageConfig.Extension.isDisabled(plugin.id);
}

async function loadAll(list) {
  const modules = await Promise.all(
    list.map(({ name, load }) =>
      load().catch(error => {
        console.error(`Insighter Lab: could not load ${name}`, error);
        return null;
      })
    )
  );
  return modules.filter(module => module !== null);
}

async function main() {
  // Styles first, so widgets measure themselves against styled DOM.
  await import('insighter-app-generated/style.js');

  const [extensionModules, mimeModules] = await Promise.all([
    loadAll(extensions),
    loadAll(mimeExtensions)
  ]);
  const plugins = extensionModules.flatMap(pluginsOf).filter(isWanted);

  const pluginRegistry = new PluginRegistry();
  pluginRegistry.registerPlugins(plugins);
  const serviceManager =
    await pluginRegistry.resolveRequiredService(IServiceManager);
  const connectionStatus =
    await pluginRegistry.resolveOptionalService(IConnectionStatus);

  const app = new JupyterLab({
    pluginRegistry,
    serviceManager,
    connectionStatus,
    mimeExtensions: mimeModules
  });
  // UI tests (galata) and debugging reach the application through this.
  window.jupyterapp = app;

  await app.start({ bubblingKeydown: true });
  await app.restored;
}

window.addEventListener('load', () => {
  main().catch(error => {
    console.error('Insighter Lab failed to start', error);
  });
});
