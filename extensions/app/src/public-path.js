// Chunks and assets are served from the app's static URL, which depends on
// the server's base URL: set webpack's public path before anything loads.
import { PageConfig } from '@jupyterlab/coreutils';

// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';
