import type {
  ComponentName,
  ComponentState,
  IComponentHealth,
  ISystemStatusModel
} from '@insighter/core';
import type { TranslationBundle } from '@jupyterlab/translation';

/** The components in the order people read them. */
export const COMPONENT_ORDER: readonly ComponentName[] = [
  'database',
  'storage',
  'jobs',
  'tracking'
];

export function componentLabel(
  name: ComponentName,
  trans: TranslationBundle
): string {
  switch (name) {
    case 'database':
      return trans.__('Database');
    case 'storage':
      return trans.__('Storage');
    case 'jobs':
      return trans.__('Job engine');
    case 'tracking':
      return trans.__('Tracking');
  }
}

export function componentStateLabel(
  state: ComponentState,
  trans: TranslationBundle
): string {
  switch (state) {
    case 'ok':
      return trans.__('ok');
    case 'degraded':
      return trans.__('degraded');
    case 'down':
      return trans.__('down');
    case 'not_configured':
      return trans.__('not configured');
  }
}

/** The components of the last answer, known ones first, then any the sidecar added. */
export function orderedComponents(
  components: Partial<Record<ComponentName, IComponentHealth>>
): [ComponentName, IComponentHealth][] {
  const names = [
    ...COMPONENT_ORDER.filter(name => name in components),
    ...(Object.keys(components) as ComponentName[]).filter(
      name => !COMPONENT_ORDER.includes(name)
    )
  ];
  return names.map(name => [name, components[name] as IComponentHealth]);
}

/** The status bar's text: "Insighter: OPTIMAL". */
export function statusLabel(
  model: ISystemStatusModel,
  trans: TranslationBundle
): string {
  return model.state === 'UNKNOWN'
    ? trans.__('Insighter: checking…')
    : trans.__('Insighter: %1', model.state);
}

/** The hover text: the summary, then one line per component, then the version. */
export function statusTitle(
  model: ISystemStatusModel,
  trans: TranslationBundle
): string {
  const lines = [statusLabel(model, trans), model.message];
  const status = model.status;
  if (status) {
    for (const [name, health] of orderedComponents(status.components)) {
      const backend = health.backend ? ` (${health.backend})` : '';
      lines.push(
        `${componentLabel(name, trans)}${backend}: ${componentStateLabel(
          health.state,
          trans
        )} — ${health.detail}`
      );
    }
    lines.push(trans.__('Version %1', status.version));
  }
  lines.push(trans.__('Click for details.'));
  return lines.join('\n');
}
