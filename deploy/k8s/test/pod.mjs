// pod.mjs OVERLAY OUTDIR -- the consumer's pod from a rendered overlay, for a
// test that runs it outside Kubernetes (tests/kafka/pipeline_test.py
// k8s-rendered): writes the ConfigMap's files to OUTDIR/config and prints
// JSON with the image, the args ($(VAR) expanded), the env, the user and
// group, each mount (path, and the ConfigMap or Secret behind it), and the
// Strimzi KafkaTopics (partitions, config).
import { podCommand, render } from "./render.mjs";
import path from "node:path";

const [overlay, out] = process.argv.slice(2);
const objs = render(overlay);
const pod = podCommand(objs, path.join(out, "config"));
const spec = pod.dep.spec.template.spec;
const sc = { ...spec.securityContext, ...pod.container.securityContext };
const mounts = (pod.container.volumeMounts || []).map((m) => {
  const v = spec.volumes.find((x) => x.name === m.name);
  return v.configMap ? { path: m.mountPath, configMap: v.configMap.name, dir: pod.configDir }
    : { path: m.mountPath, secret: v.secret.secretName, items: v.secret.items || null };
});
// The KafkaTopics too, so the test's topics have Strimzi's partitions and configs.
const topics = Object.fromEntries(render("strimzi").filter((o) => o.kind === "KafkaTopic")
  .map((t) => [t.spec.topicName || t.metadata.name, { partitions: t.spec.partitions, config: t.spec.config || {} }]));
console.log(JSON.stringify({
  image: pod.container.image, args: pod.args, env: pod.env, user: sc.runAsUser, group: sc.runAsGroup,
  readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true, mounts, topics,
}, null, 1));
