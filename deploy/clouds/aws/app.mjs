// The CDK app: one EKS cluster for dhatu-stream. `npx cdk synth` writes the
// CloudFormation to cdk.out without AWS credentials (the stack is
// environment-agnostic); `npx cdk deploy` with credentials creates it.
// Settings come from context (-c key=value), with the defaults below.
import { App } from "aws-cdk-lib";
import { DhatuEksStack } from "./lib/stack.mjs";

const app = new App();
const ctx = (k, d) => app.node.tryGetContext(k) ?? d;
new DhatuEksStack(app, "DhatuEks", {
  clusterName: ctx("clusterName", "dhatu"),
  description: "dhatu-stream: EKS with CPU (2-20), spot and GPU (1-8) node groups, cluster autoscaler, KEDA, Strimzi",
});
app.synth();
