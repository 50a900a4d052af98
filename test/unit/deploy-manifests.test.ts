import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildProgram } from '../../src/cli/index';
import type { CliContext } from '../../src/cli/context';
import { envVariables, loadConfig } from '../../src/config';

const root = path.resolve(__dirname, '../..');
const k8sDir = path.join(root, 'infra/deploy/k8s');
const validator = path.join(root, 'infra/deploy/validate-manifests.mjs');

/** Environment variables the manifests may set besides src/config's: each read by something else. */
const OTHER_ENV = new Set(['NODE_OPTIONS']);

/** The images, by repository name: the Node roles' (infra/deploy/Dockerfile) and the Python trainer's. */
const NODE_IMAGE = 'loopkeeper';
const PYTHON_IMAGE = 'loopkeeper-trainer-python';

/** The environment variables the Python trainer reads (quoted names in its package's source). */
const pythonEnv = new Set(
  fs
    .readdirSync(path.join(root, 'workers/python/loopkeeper_trainer'))
    .filter((f) => f.endsWith('.py'))
    .flatMap((f) => [
      ...fs
        .readFileSync(path.join(root, 'workers/python/loopkeeper_trainer', f), 'utf8')
        .matchAll(/"((?:LOOPKEEPER|TEMPORAL|AWS)_[A-Z0-9_]+)"/g),
    ])
    .map((m) => m[1]),
);

/** The uid of a Dockerfile's last USER instruction. */
function imageUid(file: string): number {
  const users = [...fs.readFileSync(path.join(root, file), 'utf8').matchAll(/^USER\s+(\d+)/gm)];
  return Number(users[users.length - 1]?.[1]);
}
const uids: Record<string, number> = {
  [NODE_IMAGE]: imageUid('infra/deploy/Dockerfile'),
  [PYTHON_IMAGE]: imageUid('infra/deploy/Dockerfile.python'),
};

/** The roles (app.kubernetes.io/component) and how many Deployments each has: one, or one per model. */
const ROLES: Record<string, 'one' | 'per-model'> = {
  worker: 'one',
  'training-worker': 'one',
  'python-trainer': 'one',
  serve: 'per-model',
  ui: 'one',
};

/** `--name=value` from a container's args. */
function flag(args: string[] | undefined, name: string): string | undefined {
  const hit = (args ?? []).find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Validated {
  objects: Array<{ file: string; kind: string; name: string; object: Obj }>;
  errors: Array<{ file: string; kind?: string; name?: string; message: string }>;
}

/** Runs the offline schema validator (kubernetes-models, ESM-only, hence a child process) over a directory. */
function validate(dir: string): Validated & { code: number | null } {
  const run = spawnSync(process.execPath, [validator, dir], { cwd: root, encoding: 'utf8' });
  if (!run.stdout) throw new Error(`validator printed nothing: ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as Validated), code: run.status };
}

const commands = buildProgram(() => ({}) as CliContext).commands.map((c) => c.name());

/** Every deployment invariant the schemas cannot express; one line per problem, empty when all hold. */
function problems(objects: Validated['objects']): string[] {
  const out: string[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.object);
  const configMaps = byKind('ConfigMap');
  const configNames = new Set(Object.values(envVariables));
  for (const cm of configMaps) {
    for (const key of Object.keys(cm.data ?? {}))
      if (!configNames.has(key)) out.push(`ConfigMap ${cm.metadata.name}: ${key} is not a config variable`);
  }
  const deployments = byKind('Deployment');
  for (const [role, count] of Object.entries(ROLES)) {
    const n = deployments.filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === role).length;
    if (n === 0 || (count === 'one' && n > 1)) out.push(`role ${role}: ${n} Deployments, expected ${count}`);
  }
  /** A container's HTTP port (--port=N) is a containerPort, its probes GET `paths` on it, a Service selects it. */
  const httpChecks = (d: Obj, c: Obj, where: string, paths: { liveness: string; readiness: string }) => {
    const port = Number(flag(c.args, 'port'));
    const named = (c.ports ?? []).find((p: Obj) => p.containerPort === port);
    if (!named) out.push(`${where}: --port ${port} is not a containerPort`);
    const host = flag(c.args, 'host');
    if (!host || host === 'localhost' || host.startsWith('127.') || host === '::1')
      out.push(`${where}: binds only ${host ?? '127.0.0.1'}, unreachable from the Service`);
    if (c.livenessProbe?.httpGet?.path !== paths.liveness)
      out.push(`${where}: livenessProbe must GET ${paths.liveness}`);
    if (c.readinessProbe?.httpGet?.path !== paths.readiness)
      out.push(`${where}: readinessProbe must GET ${paths.readiness}`);
    for (const probe of [c.livenessProbe, c.readinessProbe])
      if (probe && probe.httpGet.port !== named?.name && probe.httpGet.port !== port)
        out.push(`${where}: a probe targets ${probe.httpGet.port}, not the serving port`);
    const labels = d.spec.template.metadata.labels as Record<string, string>;
    const services = byKind('Service').filter((s) =>
      Object.entries(s.spec.selector ?? {}).every(([k, v]) => labels[k] === v),
    );
    if (services.length === 0) out.push(`Deployment ${d.metadata.name}: no Service selects its pods`);
  };
  for (const d of deployments) {
    const name = `Deployment ${d.metadata.name}`;
    const pod = d.spec.template.spec;
    const role = d.metadata.labels?.['app.kubernetes.io/component'] as string;
    if (!(role in ROLES)) out.push(`${name}: component ${role} is no known role`);
    if (pod.securityContext?.runAsNonRoot !== true) out.push(`${name}: pod securityContext.runAsNonRoot`);
    if (!(pod.securityContext?.runAsUser > 0)) out.push(`${name}: pod runAsUser must be a non-root uid`);
    for (const c of pod.containers as Obj[]) {
      const where = `${name} container ${c.name}`;
      const image = /^([^@:]+):/.exec(c.image)?.[1] ?? '';
      if (!(image in uids)) out.push(`${where}: image ${c.image} is not one this repository builds`);
      else if ((c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser) !== uids[image])
        out.push(`${where}: runs as ${pod.securityContext?.runAsUser}, its image's USER is ${uids[image]}`);
      for (const side of ['requests', 'limits'])
        for (const r of ['cpu', 'memory'])
          if (c.resources?.[side]?.[r] === undefined) out.push(`${where}: resources.${side}.${r} missing`);
      if (c.securityContext?.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem`);
      if (c.securityContext?.allowPrivilegeEscalation !== false)
        out.push(`${where}: allowPrivilegeEscalation`);
      const tag = /^[^@]+:([^:/]+)$/.exec(c.image)?.[1];
      if (!tag || tag === 'latest') out.push(`${where}: image ${c.image} needs a pinned tag (not latest)`);
      if (image === PYTHON_IMAGE) {
        // The image's ENTRYPOINT runs the worker; args or a command would replace or confuse it.
        if (c.args !== undefined || c.command !== undefined)
          out.push(`${where}: the Python trainer takes no args or command (its ENTRYPOINT runs it)`);
        for (const e of (c.env ?? []) as Obj[])
          if (!pythonEnv.has(e.name)) out.push(`${where}: env ${e.name} is not read by the Python trainer`);
        const threads = Number(
          (c.env as Obj[] | undefined)?.find((e) => e.name === 'LOOPKEEPER_TRAINER_THREADS')?.value,
        );
        if (!(threads >= 1 && threads <= Number(c.resources?.limits?.cpu)))
          out.push(
            `${where}: LOOPKEEPER_TRAINER_THREADS must be 1..limits.cpu (0 means every core of the node)`,
          );
      } else {
        if (!commands.includes(c.args?.[0]))
          out.push(`${where}: args[0] ${c.args?.[0]} is no loopkeeper command`);
        for (const e of (c.env ?? []) as Obj[])
          if (!configNames.has(e.name) && !OTHER_ENV.has(e.name))
            out.push(`${where}: env ${e.name} is not a config variable`);
      }
      const metricsPort = flag(c.args, 'metrics-port');
      if (role === 'worker' && metricsPort === undefined)
        out.push(`${where}: the orchestration worker needs --metrics-port`);
      if (metricsPort !== undefined) {
        if (!(c.ports ?? []).some((p: Obj) => p.containerPort === Number(metricsPort)))
          out.push(`${where}: --metrics-port ${metricsPort} is not a containerPort`);
        const host = flag(c.args, 'metrics-host');
        if (!host || host.startsWith('127.') || host === 'localhost')
          out.push(`${where}: metrics bound to ${host ?? '127.0.0.1'}, unreachable for Prometheus`);
        const notes = (d.spec.template.metadata.annotations ?? {}) as Record<string, string>;
        if (notes['prometheus.io/scrape'] !== 'true' || notes['prometheus.io/port'] !== metricsPort)
          out.push(`${where}: pod annotations must scrape the metrics port ${metricsPort}`);
      }
      if (c.args?.[0] === 'ui') httpChecks(d, c, where, { liveness: '/healthz', readiness: '/healthz' });
      for (const ref of (c.envFrom ?? []) as Obj[])
        if (ref.configMapRef && !configMaps.some((cm) => cm.metadata.name === ref.configMapRef.name))
          out.push(`${where}: envFrom ConfigMap ${ref.configMapRef.name} is not defined`);
      if (c.args?.[0] === 'serve') {
        if (flag(c.args, 'token-file') === undefined)
          out.push(`${where}: serves every interface without --token-file`);
        httpChecks(d, c, where, { liveness: '/healthz', readiness: '/readyz' });
      }
    }
  }
  const deploymentNames = new Set(deployments.map((d) => d.metadata.name as string));
  for (const hpa of byKind('HorizontalPodAutoscaler'))
    if (!deploymentNames.has(hpa.spec.scaleTargetRef.name))
      out.push(
        `HorizontalPodAutoscaler ${hpa.metadata.name}: scales ${hpa.spec.scaleTargetRef.name}, not defined`,
      );
  for (const pdb of byKind('PodDisruptionBudget')) {
    const wanted = Object.entries(pdb.spec.selector.matchLabels ?? {});
    const covers = deployments.some((d) =>
      wanted.every(([k, v]) => d.spec.template.metadata.labels[k] === v),
    );
    if (!covers) out.push(`PodDisruptionBudget ${pdb.metadata.name}: selects no Deployment's pods`);
  }
  return out;
}

describe('Kubernetes manifests (infra/deploy/k8s)', () => {
  const result = validate(k8sDir);

  test('every object validates against the Kubernetes schemas, offline', () => {
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(0);
    const kinds = result.objects.map((o) => `${o.kind}/${o.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/loopkeeper-config',
        'Deployment/loopkeeper-worker',
        'Deployment/loopkeeper-training-worker',
        'Deployment/loopkeeper-python-trainer',
        'Deployment/loopkeeper-serve-churn',
        'Deployment/loopkeeper-ui',
        'Service/loopkeeper-ui',
        'Service/loopkeeper-serve-churn',
        'PodDisruptionBudget/loopkeeper-serve-churn',
        'HorizontalPodAutoscaler/loopkeeper-serve-churn',
      ]),
    );
  });

  test('resources, non-root, read-only root, probes on serve, pinned images, real commands and env names', () => {
    expect(problems(result.objects)).toEqual([]);
  });

  test('the ConfigMap is a configuration loadConfig accepts, and the training worker polls the training queue', () => {
    const cm = result.objects.find((o) => o.kind === 'ConfigMap')!.object;
    const config = loadConfig(cm.data as Record<string, string>);
    expect(config.temporal.external).toBe(true);
    expect(config.store.uri).toMatch(/^s3:\/\//);
    const training = result.objects.find(
      (o) => o.kind === 'Deployment' && o.name === 'loopkeeper-training-worker',
    )!.object;
    const queue = (training.spec.template.spec.containers[0].env as Obj[]).find(
      (e) => e.name === 'LOOPKEEPER_TASK_QUEUE',
    );
    expect(queue?.valueFrom?.configMapKeyRef?.key).toBe('LOOPKEEPER_TRAINING_TASK_QUEUE');
  });

  describe('a broken copy fails', () => {
    /** Copies the manifests to a temp dir with one file's text rewritten. */
    function mutated(file: string, edit: (text: string) => string): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-k8s-'));
      for (const f of fs.readdirSync(k8sDir)) fs.copyFileSync(path.join(k8sDir, f), path.join(dir, f));
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const next = edit(text);
      expect(next).not.toBe(text); // the mutation must apply, or the test proves nothing
      fs.writeFileSync(path.join(dir, file), next);
      return dir;
    }

    test('a schema error (a port as a string) fails the validator with the field named', () => {
      const broken = validate(
        mutated('30-serve.yaml', (t) => t.replace('containerPort: 8080', 'containerPort: http')),
      );
      expect(broken.code).toBe(1);
      expect(broken.errors.map((e) => e.message).join('\n')).toMatch(/containerPort must be integer/);
    });

    test('a missing required field (the selector) fails the validator', () => {
      const broken = validate(mutated('20-worker.yaml', (t) => t.replace(/^ {2}selector:\n.*\n/m, '')));
      expect(broken.code).toBe(1);
      expect(broken.errors[0]).toMatchObject({ kind: 'Deployment', name: 'loopkeeper-worker' });
    });

    test.each([
      [
        'no limits',
        '21-training-worker.yaml',
        (t: string) => t.replace(/^ *limits: .*\n/m, ''),
        /limits\.cpu missing/,
      ],
      [
        'latest tag',
        '20-worker.yaml',
        (t: string) => t.replace('loopkeeper:0.1.0', 'loopkeeper:latest'),
        /not latest/,
      ],
      [
        'root',
        '20-worker.yaml',
        (t: string) => t.replace('runAsNonRoot: true', 'runAsNonRoot: false'),
        /runAsNonRoot/,
      ],
      [
        'no readiness',
        '30-serve.yaml',
        (t: string) => t.replace('path: /readyz', 'path: /healthz'),
        /readinessProbe/,
      ],
      [
        'unknown env',
        '10-config.yaml',
        (t: string) => t.replace('TEMPORAL_NAMESPACE:', 'TEMPORAL_NAMESPAC:'),
        /TEMPORAL_NAMESPAC is not/,
      ],
      [
        'HPA target',
        '30-serve.yaml',
        (t: string) =>
          t.replace(
            'kind: Deployment, name: loopkeeper-serve-churn',
            'kind: Deployment, name: loopkeeper-serve',
          ),
        /scales loopkeeper-serve, not defined/,
      ],
      [
        'unknown command',
        '20-worker.yaml',
        (t: string) => t.replace('args: [worker,', 'args: [workers,'),
        /no loopkeeper command/,
      ],
      [
        'ui on loopback',
        '40-ui.yaml',
        (t: string) => t.replace('--host=0.0.0.0, ', ''),
        /binds only 127\.0\.0\.1/,
      ],
      [
        'ui readiness elsewhere',
        '40-ui.yaml',
        (t: string) => t.replace(/(readinessProbe:\n\s+httpGet: \{ path: )\/healthz/, '$1/readyz'),
        /readinessProbe must GET \/healthz/,
      ],
      ['no ui role', '40-ui.yaml', () => '', /role ui: 0 Deployments/],
      [
        'worker without metrics',
        '20-worker.yaml',
        (t: string) => t.replace(', --metrics-port=9464', ''),
        /orchestration worker needs --metrics-port/,
      ],
      [
        'scrape annotation on another port',
        '20-worker.yaml',
        (t: string) => t.replace("prometheus.io/port: '9464'", "prometheus.io/port: '9465'"),
        /scrape the metrics port 9464/,
      ],
      [
        'metrics on loopback',
        '20-worker.yaml',
        (t: string) => t.replace('--metrics-host=0.0.0.0', '--metrics-host=127.0.0.1'),
        /unreachable for Prometheus/,
      ],
      [
        'python trainer on every core of the node',
        '22-python-trainer.yaml',
        (t: string) => t.replace("value: '2'", "value: '0'"),
        /LOOPKEEPER_TRAINER_THREADS must be/,
      ],
      [
        'python trainer on the Node training queue',
        '22-python-trainer.yaml',
        (t: string) =>
          t.replace('name: LOOPKEEPER_PYTHON_TASK_QUEUE', 'name: LOOPKEEPER_TRAINING_TASK_QUEUE'),
        /LOOPKEEPER_TRAINING_TASK_QUEUE is not read by the Python trainer/,
      ],
      [
        "python uid not the image's",
        '22-python-trainer.yaml',
        (t: string) => t.replace('runAsUser: 10001', 'runAsUser: 1000'),
        /its image's USER is 10001/,
      ],
      [
        'python trainer given loopkeeper args',
        '22-python-trainer.yaml',
        (t: string) => t.replace('          envFrom:', '          args: [worker]\n          envFrom:'),
        /takes no args/,
      ],
    ])('%s: schema-valid but an invariant fails', (_what, file, edit, message) => {
      const broken = validate(mutated(file, edit));
      expect(broken.errors).toEqual([]);
      expect(problems(broken.objects).join('\n')).toMatch(message);
    });
  });
});
