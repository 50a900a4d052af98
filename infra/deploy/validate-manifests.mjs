#!/usr/bin/env node
// Validates Kubernetes manifests offline: every object of every *.yaml file under the given directory
// (default infra/deploy/k8s) against the OpenAPI schema that the `kubernetes-models` package carries
// (no cluster, no download). Prints one JSON document on stdout: { objects: [{ file, index, apiVersion,
// kind, name, object }], errors: [{ file, index, kind, name, message }] }; exits 1 when any error.
// A plain ESM script because kubernetes-models 5 is ESM-only; test/unit/deploy-manifests.test.ts runs it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, 'k8s'));

/** The kubernetes-models module of an apiVersion/kind, e.g. apps/v1 Deployment → apps/v1/Deployment. */
async function modelClass(apiVersion, kind) {
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z]+$/.test(kind)) return undefined;
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return mod[kind] ?? mod.default;
  } catch {
    return undefined;
  }
}

const objects = [];
const errors = [];
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
  .sort();
if (files.length === 0) errors.push({ file: dir, index: 0, message: 'no *.yaml manifests found' });
for (const file of files) {
  let docs;
  try {
    docs = yaml.safeLoadAll(fs.readFileSync(path.join(dir, file), 'utf8'));
  } catch (err) {
    errors.push({ file, index: 0, message: `not YAML: ${err.message.split('\n')[0]}` });
    continue;
  }
  for (const [index, object] of docs.entries()) {
    if (object === null || object === undefined) continue;
    const where = { file, index, kind: object?.kind, name: object?.metadata?.name };
    const Model = await modelClass(String(object.apiVersion), String(object.kind));
    if (!Model) {
      errors.push({ ...where, message: `unknown apiVersion/kind ${object.apiVersion}/${object.kind}` });
      continue;
    }
    try {
      new Model(object).validate();
      objects.push({ ...where, apiVersion: object.apiVersion, object });
    } catch (err) {
      errors.push({ ...where, message: err.message });
    }
  }
}
process.stdout.write(`${JSON.stringify({ objects, errors })}\n`);
process.exitCode = errors.length > 0 ? 1 : 0;
