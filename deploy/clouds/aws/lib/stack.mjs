// DhatuEksStack -- Amazon EKS for dhatu-stream (deploy/k8s).
//
// What the Kubernetes overlays expect of the nodes, and where it is made:
// - overlays/cpu: general nodes, managed node group "cpu", 2-20 nodes;
// - overlays/spot: spot nodes tainted eks.amazonaws.com/capacityType=SPOT
//   (components/spot tolerates it), group "cpu-spot", 0-20, several
//   instance types so a reclaimed type does not empty the pool;
// - overlays/gpu: NVIDIA nodes labelled nvidia.com/gpu.present=true and
//   tainted nvidia.com/gpu (components/gpu), group "gpu", 1-8, AL2023 NVIDIA AMI.
// Nodes follow the pods: the cluster autoscaler (Helm chart, IAM role for its
// service account: IRSA) grows a group when KEDA adds pods that do not fit
// and shrinks it when they leave. KEDA and Strimzi are installed as charts;
// Secrets are encrypted with a customer-managed KMS key.
import { Stack, CfnOutput, Tags } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { KubectlV34Layer } from "@aws-cdk/lambda-layer-kubectl-v34";

export class DhatuEksStack extends Stack {
  constructor(scope, id, props = {}) {
    super(scope, id, props);
    const clusterName = props.clusterName ?? "dhatu";

    const vpc = new ec2.Vpc(this, "Vpc", { maxAzs: 3, natGateways: 1 });
    const secretsKey = new kms.Key(this, "SecretsKey", {
      enableKeyRotation: true,
      description: `${clusterName}: envelope encryption of Kubernetes Secrets`,
    });
    const cluster = new eks.Cluster(this, "Cluster", {
      clusterName,
      version: eks.KubernetesVersion.V1_34,
      kubectlLayer: new KubectlV34Layer(this, "Kubectl"),
      vpc,
      vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      defaultCapacity: 0, // the node groups below, nothing else
      secretsEncryptionKey: secretsKey,
      clusterLogging: [eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR],
    });

    // The cluster autoscaler finds the groups by these tags.
    const autoscaled = (ng) => {
      Tags.of(ng).add("k8s.io/cluster-autoscaler/enabled", "true");
      Tags.of(ng).add(`k8s.io/cluster-autoscaler/${clusterName}`, "owned");
      return ng;
    };
    autoscaled(cluster.addNodegroupCapacity("cpu", {
      nodegroupName: "cpu",
      // AL2023: Kubernetes 1.33 and later have no Amazon Linux 2 AMIs.
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      instanceTypes: [new ec2.InstanceType("c7i.xlarge")],
      capacityType: eks.CapacityType.ON_DEMAND,
      minSize: 2, maxSize: 20, desiredSize: 2,
      labels: { "dhatu.io/pool": "cpu" },
    }));
    autoscaled(cluster.addNodegroupCapacity("cpu-spot", {
      nodegroupName: "cpu-spot",
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      instanceTypes: ["c7i.xlarge", "c6i.xlarge", "c6a.xlarge", "m7i.xlarge"].map((t) => new ec2.InstanceType(t)),
      capacityType: eks.CapacityType.SPOT,
      minSize: 0, maxSize: 20, desiredSize: 0,
      labels: { "dhatu.io/pool": "spot" },
      taints: [{ key: "eks.amazonaws.com/capacityType", value: "SPOT", effect: eks.TaintEffect.NO_SCHEDULE }],
    }));
    autoscaled(cluster.addNodegroupCapacity("gpu", {
      nodegroupName: "gpu",
      amiType: eks.NodegroupAmiType.AL2023_X86_64_NVIDIA,
      instanceTypes: [new ec2.InstanceType("g6.xlarge"), new ec2.InstanceType("g5.xlarge")],
      capacityType: eks.CapacityType.ON_DEMAND,
      minSize: 1, maxSize: 8, desiredSize: 1,
      labels: { "dhatu.io/pool": "gpu", "nvidia.com/gpu.present": "true" },
      taints: [{ key: "nvidia.com/gpu", value: "present", effect: eks.TaintEffect.NO_SCHEDULE }],
    }));

    // Cluster autoscaler: its service account assumes this role (IRSA),
    // scoped to the groups tagged above.
    const caSa = cluster.addServiceAccount("ClusterAutoscalerSa", {
      name: "cluster-autoscaler", namespace: "kube-system",
    });
    caSa.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
        "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
        "eks:DescribeNodegroup"],
      resources: ["*"],
    }));
    caSa.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      resources: ["*"],
      conditions: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
    }));
    const ca = cluster.addHelmChart("ClusterAutoscaler", {
      chart: "cluster-autoscaler", repository: "https://kubernetes.github.io/autoscaler",
      namespace: "kube-system", version: "9.43.2",
      values: {
        autoDiscovery: { clusterName },
        awsRegion: Stack.of(this).region,
        rbac: { serviceAccount: { create: false, name: "cluster-autoscaler" } },
        // Spot reclaims and scale-downs move consumers: not faster than KEDA's cooldown.
        extraArgs: { "scale-down-unneeded-time": "5m", "balance-similar-node-groups": true,
          "skip-nodes-with-system-pods": false },
      },
    });
    ca.node.addDependency(caSa);

    // KEDA (scales the consumers on lag), Strimzi (the Kafka cluster, topics
    // and users of deploy/k8s/strimzi), NVIDIA's device plugin (nvidia.com/gpu).
    cluster.addHelmChart("Keda", {
      chart: "keda", repository: "https://kedacore.github.io/charts", namespace: "keda",
      createNamespace: true, version: "2.16.1",
    });
    cluster.addHelmChart("Strimzi", {
      chart: "strimzi-kafka-operator", repository: "https://strimzi.io/charts/", namespace: "kafka",
      createNamespace: true, version: "0.45.0",
    });
    cluster.addHelmChart("NvidiaDevicePlugin", {
      chart: "nvidia-device-plugin", repository: "https://nvidia.github.io/k8s-device-plugin",
      namespace: "kube-system", version: "0.17.0",
      values: { tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
        nodeSelector: { "nvidia.com/gpu.present": "true" } },
    });

    new CfnOutput(this, "ClusterName", { value: cluster.clusterName });
    new CfnOutput(this, "KubeconfigCommand", {
      value: `aws eks update-kubeconfig --name ${clusterName} --region ${Stack.of(this).region}`,
    });
  }
}
