// Assertions on the synthesized CloudFormation (node --test): the
// cluster the README promises, checked without an AWS account.
import { test } from "node:test";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { DhatuEksStack } from "../lib/stack.mjs";

const t = Template.fromStack(new DhatuEksStack(new App(), "Test", { clusterName: "dhatu" }));
const nodegroup = (name) => {
  const all = t.findResources("AWS::EKS::Nodegroup", { Properties: { NodegroupName: name } });
  const v = Object.values(all);
  if (v.length !== 1) throw new Error(`node group ${name}: ${v.length} found`);
  return v[0].Properties;
};
const assertEq = (a, b, what) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
};

test("EKS 1.34 with Secrets encrypted by a rotating KMS key", () => {
  t.hasResourceProperties("Custom::AWSCDK-EKS-Cluster", {
    Config: Match.objectLike({
      version: "1.34",
      encryptionConfig: [{ provider: { keyArn: Match.anyValue() }, resources: ["secrets"] }],
      logging: { clusterLogging: [{ enabled: true, types: ["api", "audit", "authenticator"] }] },
    }),
  });
  t.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
});

test("CPU node group: on-demand, 2 to 20 nodes, autoscaler tags", () => {
  const p = nodegroup("cpu");
  assertEq(p.ScalingConfig.MinSize, 2, "min");
  assertEq(p.ScalingConfig.MaxSize, 20, "max");
  assertEq(p.CapacityType, "ON_DEMAND", "capacity");
  assertEq(p.AmiType, "AL2023_x86_64_STANDARD", "AMI");
  assertEq(p.Tags["k8s.io/cluster-autoscaler/enabled"], "true", "autoscaler tag");
  assertEq(p.Tags["k8s.io/cluster-autoscaler/dhatu"], "owned", "autoscaler owner tag");
});

test("spot node group: SPOT capacity over several types, tainted as components/spot tolerates", () => {
  const p = nodegroup("cpu-spot");
  assertEq(p.CapacityType, "SPOT", "capacity");
  if (p.InstanceTypes.length < 3) throw new Error("a spot pool needs several instance types");
  assertEq(p.ScalingConfig.MinSize, 0, "min");
  assertEq(p.ScalingConfig.MaxSize, 20, "max");
  assertEq(p.Taints, [{ Effect: "NO_SCHEDULE", Key: "eks.amazonaws.com/capacityType", Value: "SPOT" }], "taints");
});

test("GPU node group: NVIDIA AMI, 1 to 8 nodes, the label and taint of components/gpu", () => {
  const p = nodegroup("gpu");
  assertEq(p.AmiType, "AL2023_x86_64_NVIDIA", "AMI");
  assertEq(p.ScalingConfig.MinSize, 1, "min");
  assertEq(p.ScalingConfig.MaxSize, 8, "max");
  assertEq(p.Labels["nvidia.com/gpu.present"], "true", "label");
  assertEq(p.Taints, [{ Effect: "NO_SCHEDULE", Key: "nvidia.com/gpu", Value: "present" }], "taints");
  if (!p.InstanceTypes.every((i) => /^g[4-6]/.test(i))) throw new Error(`not GPU instances: ${p.InstanceTypes}`);
});

test("cluster autoscaler: IAM role for its service account (IRSA), scoped writes, Helm chart", () => {
  // The role trusts the cluster's OIDC provider (web identity), not EC2.
  t.hasResourceProperties("AWS::IAM::Role", {
    AssumeRolePolicyDocument: Match.objectLike({
      Statement: Match.arrayWith([Match.objectLike({
        Action: "sts:AssumeRoleWithWebIdentity",
        Principal: { Federated: Match.anyValue() },
      })]),
    }),
  });
  t.hasResourceProperties("AWS::IAM::Policy", {
    PolicyDocument: Match.objectLike({
      Statement: Match.arrayWith([Match.objectLike({
        Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        Condition: { StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/dhatu": "owned" } },
      })]),
    }),
  });
  // The ServiceAccount manifest names the role (its ARN is joined in at deploy time).
  const sa = Object.values(t.findResources("Custom::AWSCDK-EKS-KubernetesResource"))
    .map((r) => JSON.stringify(r.Properties.Manifest))
    .filter((m) => m.includes('\\"name\\":\\"cluster-autoscaler\\"') && m.includes("eks.amazonaws.com/role-arn"));
  if (sa.length !== 1) throw new Error("no ServiceAccount cluster-autoscaler annotated with its IAM role");
  t.hasResourceProperties("Custom::AWSCDK-EKS-HelmChart", { Chart: "cluster-autoscaler", Namespace: "kube-system" });
});

test("KEDA, Strimzi and NVIDIA's device plugin are installed", () => {
  for (const [chart, ns] of [["keda", "keda"], ["strimzi-kafka-operator", "kafka"], ["nvidia-device-plugin", "kube-system"]])
    t.hasResourceProperties("Custom::AWSCDK-EKS-HelmChart", { Chart: chart, Namespace: ns });
});

test("no default capacity: only the three node groups", () => {
  t.resourceCountIs("AWS::EKS::Nodegroup", 3);
  t.resourceCountIs("AWS::AutoScaling::AutoScalingGroup", 0);
});
