// check.mjs -- every kustomization renders, every object is valid against
// its real schema, and the deployment keeps the rules an operator relies on.
//
//   node check.mjs CONSUMER WORKDIR
//
// CONSUMER: a dhatu-consumer binary; it reads each rendered configuration
// (the ConfigMap file with the Deployment's args, as the pod runs it) with
// --print-config, so a setting it rejects fails here, and the policies
// compare the KEDA trigger, topics and pod with the *effective* settings.
// WORKDIR: where the rendered objects go (WORKDIR/<overlay>.yaml and .ts);
// check.sh then type-checks the .ts files (unknown fields) and
// run_rendered.py runs the consumer with them.
//
// Schemas: kubernetes-models (Kubernetes 1.3x OpenAPI), the KEDA, Strimzi
// and Prometheus Operator CRD models. They accept unknown fields, so each
// object is also written as a typed TypeScript literal: tsc's excess
// property check rejects any field the schema does not have.
//
// The policies are tested too: the last step breaks a copy of the cpu
// overlay in each way a policy forbids and fails unless the policy says so.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

import { CONF_DIR, find, here, podCommand, render } from "./render.mjs";
const [consumer, work] = process.argv.slice(2);
if (!consumer || !work) {
  console.error("usage: node check.mjs CONSUMER WORKDIR");
  process.exit(2);
}
fs.mkdirSync(work, { recursive: true });
const KUSTOMIZATIONS = ["base", "overlays/cpu", "overlays/gpu", "overlays/spot", "overlays/share", "strimzi"];
const OVERLAYS = ["overlays/cpu", "overlays/gpu", "overlays/spot", "overlays/share"];
let failures = 0;
const fail = (what, msg) => { failures++; console.log(`FAIL ${what}: ${msg}`); };
const ok = (what, msg) => console.log(`ok   ${what}: ${msg}`);

// --- models: apiVersion/kind -> [module, class] -------------------------
const MODELS = {
  "v1/Namespace": "kubernetes-models/v1/Namespace",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Service": "kubernetes-models/v1/Service",
  "v1/ServiceAccount": "kubernetes-models/v1/ServiceAccount",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "keda.sh/v1alpha1/ScaledObject": "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject",
  "keda.sh/v1alpha1/TriggerAuthentication": "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication",
  "kafka.strimzi.io/v1beta2/KafkaTopic": "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic",
  "kafka.strimzi.io/v1beta2/KafkaUser": "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaUser",
  "monitoring.coreos.com/v1/PodMonitor": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
  "monitoring.coreos.com/v1/PrometheusRule": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
};
const key = (o) => `${o.apiVersion}/${o.kind}`;

async function validate(dir, objs) {
  const ts = [];
  for (const [i, o] of objs.entries()) {
    const mod = MODELS[key(o)];
    const name = `${dir}: ${o.kind}/${o.metadata?.name}`;
    if (!mod) { fail(name, `no schema known for ${key(o)} (add it to MODELS)`); continue; }
    const M = (await import(mod))[o.kind];
    try {
      new M(o).validate();
    } catch (e) {
      fail(name, `schema: ${e.message}`);
      continue;
    }
    ts.push(`import type { I${o.kind} as T${i} } from "${mod}";\nexport const o${i}: T${i} = ${JSON.stringify(o, null, 1)};\n`);
  }
  const file = path.join(work, dir.replace(/\//g, "_") + ".ts");
  fs.writeFileSync(file, `// rendered from deploy/k8s/${dir}, typed for tsc's excess-property check\n` + ts.join("\n"));
  fs.writeFileSync(path.join(work, dir.replace(/\//g, "_") + ".yaml"), objs.map((o) => YAML.stringify(o)).join("---\n"));
  return file;
}

// dhatu-consumer --print-config with the pod's args: the settings it would run with.
function effective(objs, dir) {
  const pod = podCommand(objs, dir);
  const args = pod.args.map((a) => (a.startsWith(CONF_DIR + "/") ? path.join(dir, a.slice(CONF_DIR.length + 1)) : a));
  const r = spawnSync(consumer, [...args, "--print-config"], { encoding: "utf8" });
  if (r.status !== 0) return { error: (r.stderr || "").trim() || `exit ${r.status}` };
  const text = r.stdout;
  const get = (sect, k) => {
    const m = text.match(new RegExp(`^${sect} = \\{[^}]*?^  ${k} = (.*?);$`, "ms"));
    if (!m) return undefined;
    const v = m[1];
    if (v.startsWith("[")) return [...v.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]);
    if (v.startsWith('"')) return v.slice(1, -1);
    return Number(v.replace(/L$/, ""));
  };
  return { get, text };
}

// The metric families the consumer exports (--help-metrics), once.
let families;
function metricFamilies() {
  if (!families) {
    const r = spawnSync(consumer, ["--help-metrics"], { encoding: "utf8" });
    families = (r.stdout || "").split("\n").map((l) => l.split("\t")[0]).filter(Boolean);
  }
  return families;
}

// --- policies -------------------------------------------------------------
export function policies(objs, strimzi, dir) {
  const v = [];
  const dep = find(objs, "Deployment", "dhatu-consumer");
  if (!dep) return ["no Deployment dhatu-consumer"];
  const spec = dep.spec.template.spec;
  if (objs.some((o) => o.kind === "Secret")) v.push("a Secret is rendered: secrets never live in the repository");
  const sa = find(objs, "ServiceAccount");
  if (!sa || sa.automountServiceAccountToken !== false || spec.automountServiceAccountToken !== false)
    v.push("service account token mounted (automountServiceAccountToken must be false)");
  const psc = spec.securityContext || {};
  if (psc.runAsNonRoot !== true || !(psc.runAsUser > 0)) v.push("root user: runAsNonRoot and a non-zero runAsUser");
  if (psc.seccompProfile?.type !== "RuntimeDefault") v.push("seccompProfile RuntimeDefault missing");
  for (const c of [...(spec.initContainers || []), ...spec.containers]) {
    const sc = c.securityContext || {};
    if (sc.runAsUser === 0) v.push(`${c.name}: root user`);
    if (sc.readOnlyRootFilesystem !== true) v.push(`${c.name}: root filesystem not read-only`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${c.name}: privilege escalation allowed`);
    if (sc.privileged) v.push(`${c.name}: privileged`);
    if (!(sc.capabilities?.drop || []).includes("ALL")) v.push(`${c.name}: capabilities not dropped`);
    if (!c.livenessProbe) v.push(`${c.name}: missing probe: liveness`);
    if (!c.readinessProbe) v.push(`${c.name}: missing probe: readiness`);
    for (const r of ["cpu", "memory"]) {
      if (!c.resources?.requests?.[r]) v.push(`${c.name}: missing request: ${r}`);
      if (!c.resources?.limits?.[r]) v.push(`${c.name}: missing limit: ${r}`);
    }
    if (/:latest$|^[^:]+$/.test(c.image)) v.push(`${c.name}: image without a fixed tag (${c.image})`);
  }
  const eff = effective(objs, path.join(dir, "config"));
  if (eff.error) {
    v.push(`the consumer rejects the rendered configuration: ${eff.error}`);
    return v;
  }
  const cfg = eff.get;
  const grace = spec.terminationGracePeriodSeconds ?? 30;
  if (grace * 1000 <= cfg("lifecycle", "shutdown_deadline_ms"))
    v.push(`terminationGracePeriodSeconds ${grace} s is not longer than lifecycle.shutdown_deadline_ms ${cfg("lifecycle", "shutdown_deadline_ms")}`);
  const port = cfg("http", "port");
  const cport = (spec.containers[0].ports || []).find((p) => p.name === "http-metrics")?.containerPort;
  if (port !== cport) v.push(`http.port ${port} is not the container's metrics port ${cport}`);
  const limitCpu = String(spec.containers[0].resources?.limits?.cpu ?? "");
  const threads = cfg("engine", "threads");
  if (cfg("engine", "backend") === "cpu" && (threads === 0 || threads > Math.ceil(parseFloat(limitCpu))))
    v.push(`engine.threads ${threads} does not fit the CPU limit ${limitCpu} (0 means every core of the node)`);

  // KEDA: the trigger watches what the consumer consumes.
  const so = find(objs, "ScaledObject");
  const topicsIn = cfg("topics", "input");
  const byName = (n) => strimzi.find((o) => o.kind === "KafkaTopic" && (o.spec.topicName || o.metadata.name) === n);
  if (so) {
    if (so.spec.scaleTargetRef?.name !== dep.metadata.name) v.push("ScaledObject targets another Deployment");
    if (dep.spec.replicas !== undefined) v.push("Deployment sets replicas: KEDA's HPA owns the count");
    for (const t of so.spec.triggers.filter((t) => t.type === "kafka")) {
      const m = t.metadata || {};
      // The CRD types metadata as a map, so a misspelt key passes the
      // schema and KEDA ignores it: only the kafka scaler's keys.
      const KNOWN = ["bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
        "offsetResetPolicy", "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag",
        "limitToPartitionsWithLag", "partitionLimitation", "version", "tls", "sasl", "unsafeSsl"];
      for (const k of Object.keys(m)) if (!KNOWN.includes(k)) v.push(`trigger metadata ${k}: not a kafka scaler setting`);
      for (const [k, val] of Object.entries(m))
        if (typeof val !== "string") v.push(`trigger metadata ${k} is a ${typeof val}: the CRD takes strings only`);
      if (m.consumerGroup !== cfg("kafka", "group_id"))
        v.push(`trigger group ${m.consumerGroup} differs from the consumer's kafka.group_id ${cfg("kafka", "group_id")}`);
      if (!topicsIn.includes(m.topic)) v.push(`trigger topic ${m.topic} differs from the consumer's topics.input ${topicsIn}`);
      if (m.bootstrapServers !== cfg("kafka", "brokers"))
        v.push(`trigger brokers ${m.bootstrapServers} differ from the consumer's kafka.brokers ${cfg("kafka", "brokers")}`);
      if (m.offsetResetPolicy !== "earliest") v.push("trigger offsetResetPolicy must be earliest, as the consumer's auto.offset.reset");
      const topic = byName(m.topic);
      if (!topic) v.push(`no KafkaTopic ${m.topic} in deploy/k8s/strimzi`);
      else if (so.spec.maxReplicaCount > topic.spec.partitions)
        v.push(`maxReplicaCount ${so.spec.maxReplicaCount} is above the ${topic.spec.partitions} partitions of ${m.topic}`);
      if (!(Number(m.lagThreshold) > 0)) v.push("lagThreshold missing");
    }
    // A share group (docs/SHARE.md) has no consumer lag: KEDA's kafka
    // scaler cannot read it; the Prometheus scaler reads the members' own
    // backlog gauge instead.
    const share = cfg("kafka", "group_type") === "share";
    if (share && so.spec.triggers.some((t) => t.type === "kafka"))
      v.push("a kafka trigger on a share group: KEDA's kafka scaler reads consumer-group lag only");
    for (const t of so.spec.triggers.filter((t) => t.type === "prometheus")) {
      const m = t.metadata || {};
      const KNOWN = ["serverAddress", "query", "threshold", "activationThreshold", "ignoreNullValues", "namespace",
        "customHeaders", "queryParameters", "unsafeSsl", "timeout", "authModes"];
      for (const k of Object.keys(m)) if (!KNOWN.includes(k)) v.push(`trigger metadata ${k}: not a prometheus scaler setting`);
      for (const [k, val] of Object.entries(m))
        if (typeof val !== "string") v.push(`trigger metadata ${k} is a ${typeof val}: the CRD takes strings only`);
      const names = [...(m.query || "").matchAll(/\b(dhatu_[a-z_]+)\b/g)].map((x) => x[1]);
      for (const n of names) if (!metricFamilies().includes(n)) v.push(`trigger query: the consumer exports no metric ${n}`);
      if (names.some((n) => n.startsWith("dhatu_share_")) && !share)
        v.push("trigger query reads share-group metrics of a consumer that is not in a share group");
      const group = (m.query || "").match(/\bgroup="([^"]*)"/)?.[1];
      if (names.length && group !== cfg("kafka", "group_id"))
        v.push(`trigger query group ${group} differs from the consumer's kafka.group_id ${cfg("kafka", "group_id")}`);
      const ns = (m.query || "").match(/\bnamespace="([^"]*)"/)?.[1];
      if (names.length && ns !== dep.metadata.namespace)
        v.push(`trigger query namespace ${ns} differs from the Deployment's ${dep.metadata.namespace}`);
      if (names.length && !(so.spec.minReplicaCount >= 1))
        v.push("minReplicaCount 0 with a trigger on the members' own metrics: a group scaled to zero never wakes");
      if (!(Number(m.threshold) > 0)) v.push("threshold missing");
    }
  }
  // Topics: what the consumer reads and writes exists, and sizes agree.
  const mb = (t) => Number(byName(t)?.spec.config?.["max.message.bytes"]);
  for (const t of [...topicsIn, cfg("topics", "output"), cfg("topics", "dead_letter")])
    if (!byName(t)) v.push(`no KafkaTopic ${t} in deploy/k8s/strimzi`);
    else if (byName(t).spec.replicas < 3 || Number(byName(t).spec.config?.["min.insync.replicas"]) < 2)
      v.push(`topic ${t}: replication below 3 or min.insync.replicas below 2`);
  const dlq = mb(cfg("topics", "dead_letter"));
  for (const t of topicsIn)
    if (!(dlq >= mb(t) + 65536)) v.push(`dead-letter topic max.message.bytes ${dlq} cannot carry a message of ${t} (${mb(t)}) with headers`);
  const props = Object.fromEntries((cfg("kafka", "librdkafka") || []).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
  const clientMax = Number(props["message.max.bytes"] ?? 1000000);
  if (clientMax < dlq) v.push(`message.max.bytes ${clientMax} is below the dead-letter topic's ${dlq}`);
  // Every Secret the pod mounts is one Strimzi makes for the users here.
  for (const vol of spec.volumes || [])
    if (vol.secret && !strimzi.some((o) => o.kind === "KafkaUser" && o.metadata.name === vol.secret.secretName) &&
        !/-cluster-ca-cert$/.test(vol.secret.secretName))
      v.push(`secret ${vol.secret.secretName} is made by nothing in deploy/k8s/strimzi`);
  return v;
}

// --- run ------------------------------------------------------------------
const rendered = {};
for (const dir of KUSTOMIZATIONS) {
  try {
    rendered[dir] = render(dir);
    ok(dir, `renders (${rendered[dir].length} objects: ${[...new Set(rendered[dir].map((o) => o.kind))].join(", ")})`);
  } catch (e) {
    fail(dir, e.message);
  }
}
const tsFiles = [];
for (const [dir, objs] of Object.entries(rendered)) {
  const before = failures;
  tsFiles.push(await validate(dir, objs));
  if (failures === before) ok(dir, "every object passes its schema");
}
const strimzi = rendered["strimzi"] || [];
for (const dir of OVERLAYS.filter((d) => rendered[d])) {
  const v = policies(rendered[dir], strimzi, path.join(work, dir.replace(/\//g, "_")));
  if (v.length) v.forEach((m) => fail(dir, `policy: ${m}`));
  else ok(dir, "policies hold; the consumer accepts the rendered configuration");
}

// The policies themselves: each break must be caught.
const BREAKS = {
  "missing probe": [(o) => delete dep(o).livenessProbe, "missing probe: liveness"],
  "root user": [(o) => { podSpec(o).securityContext.runAsUser = 0; podSpec(o).securityContext.runAsNonRoot = false; }, "root user"],
  "missing limits": [(o) => delete dep(o).resources.limits, "missing limit: cpu"],
  "maxReplicaCount above partitions": [(o) => { find(o, "ScaledObject").spec.maxReplicaCount = 13; }, "above the 12 partitions"],
  "trigger group differs": [(o) => { find(o, "ScaledObject").spec.triggers[0].metadata.consumerGroup = "other"; }, "trigger group other differs"],
  "trigger topic differs": [(o) => { find(o, "ScaledObject").spec.triggers[0].metadata.topic = "other"; }, "trigger topic other differs"],
  "misspelt trigger setting": [(o) => { find(o, "ScaledObject").spec.triggers[0].metadata.lagTreshold = "5"; }, "lagTreshold: not a kafka scaler"],
  "numeric trigger value": [(o) => { find(o, "ScaledObject").spec.triggers[0].metadata.lagThreshold = 100000; }, "the CRD takes strings only"],
  "ConfigMap the consumer rejects": [(o) => {
    const cm = o.find((x) => x.kind === "ConfigMap" && x.data?.["dhatu-consumer.conf"]);
    cm.data["dhatu-consumer.conf"] += "\nengine = { thread = 2L; };\n";
  }, "the consumer rejects the rendered configuration"],
  "grace shorter than the shutdown deadline": [(o) => { podSpec(o).terminationGracePeriodSeconds = 20; }, "is not longer than"],
  "secret in the repository": [(o) => o.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }), "a Secret is rendered"],
};
function podSpec(o) { return find(o, "Deployment").spec.template.spec; }
function dep(o) { return podSpec(o).containers[0]; }
if (rendered["overlays/cpu"]) {
  for (const [name, [breakIt, expect]] of Object.entries(BREAKS)) {
    const copy = structuredClone(rendered["overlays/cpu"]);
    breakIt(copy);
    const v = policies(copy, strimzi, path.join(work, "broken"));
    if (v.some((m) => m.includes(expect))) ok("policy self-test", `${name}: caught`);
    else fail("policy self-test", `${name}: not caught (violations: ${JSON.stringify(v)})`);
  }
}
// The share overlay's own breaks (its trigger is Prometheus, not kafka).
const SHARE_BREAKS = {
  "kafka trigger on a share group": [(o) => { find(o, "ScaledObject").spec.triggers.push({ type: "kafka", metadata: {} }); }, "a kafka trigger on a share group"],
  "query names a metric the consumer lacks": [(o) => { find(o, "ScaledObject").spec.triggers[0].metadata.query = 'sum(dhatu_share_lag{namespace="dhatu", group="dhatu"})'; }, "exports no metric dhatu_share_lag"],
  "query group differs": [(o) => { const m = find(o, "ScaledObject").spec.triggers[0].metadata; m.query = m.query.replace('group="dhatu"', 'group="other"'); }, "trigger query group other differs"],
  "scaled to zero on its own metrics": [(o) => { find(o, "ScaledObject").spec.minReplicaCount = 0; }, "never wakes"],
  "misspelt prometheus setting": [(o) => { find(o, "ScaledObject").spec.triggers[0].metadata.treshold = "5"; }, "treshold: not a prometheus scaler"],
  "share trigger on a consumer group": [(o) => {
    const args = dep(o).args;
    args.splice(args.indexOf("kafka.group_type=share") - 1, 2);
  }, "not in a share group"],
};
if (rendered["overlays/share"]) {
  for (const [name, [breakIt, expect]] of Object.entries(SHARE_BREAKS)) {
    const copy = structuredClone(rendered["overlays/share"]);
    breakIt(copy);
    const v = policies(copy, strimzi, path.join(work, "broken"));
    if (v.some((m) => m.includes(expect))) ok("policy self-test", `share: ${name}: caught`);
    else fail("policy self-test", `share: ${name}: not caught (violations: ${JSON.stringify(v)})`);
  }
}
// For check.sh: tsc --noEmit -p WORKDIR (types from this folder's node_modules).
fs.writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({
  compilerOptions: {
    strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022",
    skipLibCheck: true, types: [], paths: { "*": [path.join(here, "node_modules/*")] },
  },
  files: tsFiles,
}, null, 1));
console.log(failures ? `${failures} failure(s)` : "all checks passed");
process.exit(failures ? 1 : 0);
