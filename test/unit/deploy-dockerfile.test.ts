import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const dockerfilePath = path.join(root, 'infra/deploy/Dockerfile');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  steps: Instruction[];
}

/** Dockerfile instructions (continuation lines joined, comments dropped), grouped into FROM stages. */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (!op) throw new Error(`cannot read Dockerfile line: ${line}`);
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const resolved = image.replace(/^\$\{(\w+)\}$/, (_, v: string) => args[v] ?? image);
      stages.push({ from: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, steps: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [k, v] = rest.split('=');
      args[k] = v;
    } else if (stages.length > 0) {
      stages[stages.length - 1].steps.push({ op: upper, args: rest });
    }
  }
  return { args, stages };
}

/** The npm commands a stage RUNs, e.g. `npm ci --no-audit --no-fund`. */
function npmCommands(stage: Stage): string[] {
  return stage.steps
    .filter((s) => s.op === 'RUN')
    .flatMap((s) => s.args.split('&&').map((c) => c.trim().replace(/\s+/g, ' ')))
    .filter((c) => c.startsWith('npm '));
}

describe('infra/deploy/Dockerfile', () => {
  const docker = parseDockerfile(fs.readFileSync(dockerfilePath, 'utf8'));
  const ci = fs
    .readFileSync(path.join(root, '.ci/run'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    engines: { node: string };
    scripts: Record<string, string>;
  };
  const build = docker.stages[0];
  const runtime = docker.stages[docker.stages.length - 1];

  test('is multi-stage: a build stage and a runtime stage that copies only dist from it', () => {
    expect(docker.stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.steps.filter((s) => s.op === 'COPY' && s.args.startsWith('--from='))).toEqual([
      { op: 'COPY', args: `--from=${build.name} /app/dist ./dist` },
    ]);
  });

  test('builds with the commands CI runs, and installs production dependencies only in the runtime', () => {
    const steps = npmCommands(build);
    expect(steps).toEqual(['npm ci --no-audit --no-fund', 'npm run build']);
    for (const command of steps) expect(ci).toContain(command);
    expect(pkg.scripts.build).toBeDefined();
    expect(npmCommands(runtime)).toEqual([
      'npm ci --omit=dev --no-audit --no-fund',
      'npm cache clean --force',
    ]);
  });

  test('every stage runs the pinned Node major that package.json engines names', () => {
    const engineMajor = Number(/(\d+)\./.exec(pkg.engines.node)?.[1]);
    const [engineMinor] = /\d+\.(\d+)/.exec(pkg.engines.node)!.slice(1).map(Number);
    for (const stage of docker.stages) {
      const tag = /^node:(\d+)\.(\d+)(?:\.\d+)?-[a-z]+(-slim)?$/.exec(stage.from);
      expect(tag).not.toBeNull(); // a pinned major.minor tag, never `node:latest` or `node:20`
      expect(Number(tag![1])).toBe(engineMajor);
      expect(Number(tag![2])).toBeGreaterThanOrEqual(engineMinor);
    }
    // The Node CI runs on (.ci/run prints it) is the same major.
    expect(Number(process.versions.node.split('.')[0])).toBe(engineMajor);
  });

  test('runs as a numeric non-root user, with the loopkeeper CLI as entrypoint', () => {
    const users = runtime.steps.filter((s) => s.op === 'USER').map((s) => s.args);
    expect(users.length).toBeGreaterThan(0);
    const last = users[users.length - 1];
    expect(last).toMatch(/^\d+(:\d+)?$/); // runAsNonRoot can only check a numeric user
    expect(Number(last.split(':')[0])).toBeGreaterThan(0);
    // Nothing runs after USER that would need root.
    const afterUser = runtime.steps.slice(runtime.steps.findIndex((s) => s.op === 'USER'));
    expect(afterUser.filter((s) => s.op === 'RUN')).toEqual([]);
    const entry = runtime.steps.find((s) => s.op === 'ENTRYPOINT');
    expect(JSON.parse(entry!.args)).toEqual(['node', 'bin/loopkeeper.js']);
  });

  test('copies every input the build needs (tsconfig.build.json includes) and only paths that exist', () => {
    const copied = build.steps
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from='))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const source of copied) expect(fs.existsSync(path.join(root, source))).toBe(true);
    const buildConfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    for (const include of buildConfig.include) {
      expect(copied.some((c) => include === c || include.startsWith(`${c}/`))).toBe(true);
    }
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'bin']));
  });
});

describe('infra/deploy/Dockerfile.python (the Python trainer)', () => {
  const text = fs.readFileSync(path.join(root, 'infra/deploy/Dockerfile.python'), 'utf8');
  const docker = parseDockerfile(text);
  const runtime = docker.stages[docker.stages.length - 1];
  const installer = fs.readFileSync(path.join(root, 'infra/install-python.sh'), 'utf8').replace(/\\\n/g, ' ');
  const runs = runtime.steps.filter((s) => s.op === 'RUN').map((s) => s.args.replace(/\s+/g, ' '));

  /** The words after `python -m pip install`, with the lock file's path replaced by <lock>. */
  function pipInstall(command: string, lockPath: string): string[] {
    const words = /-m pip install (.*)$/.exec(command)?.[1].split(' ') ?? [];
    const cut = words.findIndex((w) => w === '>' || w.startsWith('>') || w === '2>&1' || w === ';');
    return (cut >= 0 ? words.slice(0, cut) : words).map((w) => (w === lockPath ? '<lock>' : w));
  }

  test('runs a pinned python:3.x.y-slim image whose minor the installer accepts', () => {
    const [, minimum] = /sys\.version_info >= \(3, (\d+)\)/.exec(installer) ?? [];
    expect(minimum).toBeDefined();
    for (const stage of docker.stages) {
      const tag = /^python:3\.(\d+)\.\d+-slim(-[a-z]+)?$/.exec(stage.from);
      expect(tag).not.toBeNull(); // a pinned patch release, never `python:3` or `python:3.11-slim`
      expect(Number(tag![1])).toBeGreaterThanOrEqual(Number(minimum));
    }
  });

  test('installs the lock with the pip command infra/install-python.sh runs (hashes required, wheels only)', () => {
    const copy = runtime.steps.find(
      (s) => s.op === 'COPY' && s.args.startsWith('workers/python/requirements.lock'),
    );
    expect(copy).toBeDefined();
    const destination = copy!.args.split(/\s+/)[1].replace(/^\.\//, '');
    const inImage = runs.filter((r) => r.includes('pip install'));
    expect(inImage).toHaveLength(1);
    const scriptLine = installer
      .split('\n')
      .map((l) => l.trim().replace(/\s+/g, ' '))
      .find((l) => l.includes('-m pip install'));
    expect(scriptLine).toBeDefined();
    const expected = pipInstall(scriptLine!, '"$lock"');
    const actual = pipInstall(inImage[0], destination).map((w) => (w === `./${destination}` ? '<lock>' : w));
    expect(expected).toEqual(expect.arrayContaining(['--require-hashes', '--no-deps', '-r', '<lock>']));
    expect(actual).toEqual(expected);
    // The lock is in the image before pip reads it.
    expect(runtime.steps.indexOf(copy!)).toBeLessThan(
      runtime.steps.findIndex((s) => s.op === 'RUN' && s.args.includes('pip install')),
    );
  });

  test('checks the same imports the installer checks, so a wheel that cannot load fails the build', () => {
    const imports = (s: string) => /bin\/python"?\s+-c '(import [^']+)'/.exec(s)?.[1];
    const expected = imports(installer);
    expect(expected).toMatch(/^import lightgbm/);
    expect(runs.map(imports)).toContain(expected);
  });

  test('runs the worker module as a numeric non-root user, nothing as root after', () => {
    const users = runtime.steps.filter((s) => s.op === 'USER').map((s) => s.args);
    const last = users[users.length - 1];
    expect(last).toMatch(/^\d+(:\d+)?$/);
    expect(Number(last.split(':')[0])).toBeGreaterThan(0);
    const afterUser = runtime.steps.slice(runtime.steps.findIndex((s) => s.op === 'USER'));
    expect(afterUser.filter((s) => s.op === 'RUN')).toEqual([]);
    const entry = JSON.parse(runtime.steps.find((s) => s.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry).toEqual(['python', '-m', 'loopkeeper_trainer.worker']);
    const main = fs.readFileSync(path.join(root, 'workers/python/loopkeeper_trainer/worker.py'), 'utf8');
    expect(main).toMatch(/if __name__ == "__main__":/);
  });

  test('copies only paths that exist, the trainer package among them', () => {
    const copied = runtime.steps
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from='))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const source of copied) expect(fs.existsSync(path.join(root, source))).toBe(true);
    expect(copied).toEqual(['workers/python/requirements.lock', 'workers/python/loopkeeper_trainer']);
  });
});
