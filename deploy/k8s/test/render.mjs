// render.mjs -- what check.mjs and pod.mjs share: a kustomization rendered
// to objects, and the consumer's command line as the kubelet would run it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const k8s = path.resolve(here, "..");

export function render(dir) {
  const r = spawnSync("kubectl", ["kustomize", path.join(k8s, dir)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr || r.error}`);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
}

// --- the consumer's view of a rendered pod -------------------------------
export const find = (objs, kind, name) => objs.find((o) => o.kind === kind && (!name || o.metadata?.name === name));
export const CONF_DIR = "/etc/dhatu/config";

// The container's args with $(VAR) expanded from its env as the kubelet
// does (fieldRef values stand in with a sample), the -c file replaced by
// the ConfigMap's content written to dir.
export function podCommand(objs, dir) {
  const dep = find(objs, "Deployment", "dhatu-consumer");
  const c = dep.spec.template.spec.containers[0];
  const env = {};
  for (const e of c.env || []) env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? "dhatu-consumer-5d9c7-x2x4z" : "");
  const args = (c.args || []).map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => env[v] ?? m));
  const mount = (c.volumeMounts || []).find((m) => m.mountPath === CONF_DIR);
  const vol = mount && dep.spec.template.spec.volumes.find((v) => v.name === mount.name);
  const cm = vol && objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === vol.configMap?.name);
  if (cm) {
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(cm.data || {})) fs.writeFileSync(path.join(dir, f), text);
  }
  return { dep, container: c, args, env, configDir: dir };
}

