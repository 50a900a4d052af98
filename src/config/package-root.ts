import * as fs from 'node:fs';
import * as path from 'node:path';

/** The loopkeeper package root (holds infra/), found from this file whether run from src/ or dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'loopkeeper') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the loopkeeper package root above ${__dirname}`);
    dir = parent;
  }
}

let version: string | undefined;

/** `loopkeeper@x.y.z`, recorded in every model manifest (lineage: which code trained it). */
export function codeVersion(): string {
  version ??= `loopkeeper@${(JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version}`;
  return version;
}
