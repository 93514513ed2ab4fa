// Builds the workspace only when its sources changed since the last build.
// The fingerprint is a hash of every source file's path and content, kept in
// the app's build folder, so a clean clone or a changed file triggers a build
// and an unchanged tree starts at once.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set(['node_modules', 'lib', 'build', 'dist', 'test', 'ui-tests', '.cache']);
const stampFile = path.join(root, 'extensions/app/build/.insighter-build-stamp');

function* files(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // tsc -b's *.tsbuildinfo are build output beside the sources: hashed,
    // each build would leave a tree that asks for one more.
    if (SKIP.has(entry.name) || entry.name.startsWith('.') || entry.name.endsWith('.tsbuildinfo')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (entry.isFile()) yield full;
  }
}

function fingerprint() {
  const workspaces = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces;
  const hash = createHash('sha256');
  hash.update(readFileSync(path.join(root, 'package-lock.json')));
  for (const ws of workspaces) {
    const all = [...files(path.join(root, ws))].sort();
    for (const file of all) {
      hash.update(path.relative(root, file));
      hash.update(readFileSync(file));
    }
  }
  return hash.digest('hex');
}

const want = fingerprint();
const have = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
if (want === have && process.argv[2] !== '--force') {
  process.exit(0);
}
const started = Date.now();
process.stderr.write('[insighter] Building Insighter Lab (first time takes about a minute)\n');
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (!existsSync(path.dirname(stampFile)) || !statSync(path.dirname(stampFile)).isDirectory()) {
  throw new Error('The app build did not produce extensions/app/build.');
}
writeFileSync(stampFile, want + '\n');
process.stderr.write(`[insighter] Build finished in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
