#!/usr/bin/env python3
"""Writes a platsim scenario of a platform of a given size, for benchmarks.

The platform: a CPU node pool and a GPU node pool (8 GPUs per node), and
Deployments of 1 to 128 pods (sizes drawn from a fixed, seeded distribution)
until the requested pod count is reached; about --gpu-fraction of the pods
ask for one GPU. Each Deployment has a Service and, unless --rps-per-pod is 0,
Poisson traffic of that rate per pod. Node counts are chosen so every pod
fits. The same arguments always write the same files.

  tools/bench/platform_scenario.py --pods 10000 --nodes 1000 --out /tmp/p10k
  platsim run /tmp/p10k/scenario.yaml --out /tmp/p10k/out
"""
import argparse
import os
import random
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, required=True, help="pods in all (>= 1)")
    parser.add_argument("--nodes", type=int, required=True, help="nodes in all (>= 2)")
    parser.add_argument("--gpu-fraction", type=float, default=0.1,
                        help="share of pods that ask for a GPU (default 0.1)")
    parser.add_argument("--rps-per-pod", type=float, default=5.0,
                        help="requests per second per pod; 0: no traffic (default 5)")
    parser.add_argument("--duration", default="1h", help="simulated time (default 1h)")
    parser.add_argument("--autoscaled", type=float, default=0.0,
                        help="share of the Deployments with an HPA (on CPU utilization and on "
                             "requests per second per pod, in turn) and traffic that rises and "
                             "falls over the run, so that they scale up and down (default 0)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the layout (default 1)")
    parser.add_argument("--out", required=True, help="folder to write scenario.yaml into")
    args = parser.parse_args()
    if (args.pods < 1 or args.nodes < 2 or not 0 <= args.gpu_fraction <= 1 or args.rps_per_pod < 0
            or not 0 <= args.autoscaled <= 1):
        parser.error("need --pods >= 1, --nodes >= 2, 0 <= --gpu-fraction <= 1, --rps-per-pod >= 0, "
                     "0 <= --autoscaled <= 1")

    rng = random.Random(args.seed)
    sizes = [1, 2, 4, 8, 16, 32, 64, 128]
    weights = [30, 20, 15, 12, 10, 7, 4, 2]
    deployments = []  # (name, replicas, gpu)
    placed = 0
    while placed < args.pods:
        replicas = min(rng.choices(sizes, weights)[0], args.pods - placed)
        gpu = rng.random() < args.gpu_fraction
        deployments.append((f"svc-{len(deployments)}", replicas, gpu))
        placed += replicas
    # Every 1/autoscaled-th Deployment, spread evenly.
    autoscaled = set()
    if args.autoscaled > 0:
        step = 1 / args.autoscaled
        autoscaled = {int(k * step) for k in range(int(len(deployments) * args.autoscaled + 1e-9))}
    gpu_pods = sum(r for _, r, g in deployments if g)
    cpu_pods = args.pods - gpu_pods
    # GPU nodes: 8 GPUs each, with room to spare; CPU nodes take the rest of
    # the node count, at most 100 pods each (kubelet maxPods is 110).
    gpu_nodes = max(1, -(-gpu_pods * 5 // 32))  # 25% headroom over 8 per node
    cpu_nodes = max(1, args.nodes - gpu_nodes)
    if cpu_pods > cpu_nodes * 100:
        print(f"{cpu_pods} CPU pods do not fit on {cpu_nodes} CPU nodes of 110 pods",
              file=sys.stderr)
        return 2

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "manifests.yaml"), "w") as f:
        for name, replicas, gpu in deployments:
            limits = '{nvidia.com/gpu: "1", cpu: "4", memory: 32Gi}' if gpu else \
                '{cpu: 500m, memory: 1Gi}'
            f.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: server
        image: {name}:1
        resources: {{limits: {limits}}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec: {{selector: {{app: {name}}}}}
""")
            if len(deployments) and deployments.index((name, replicas, gpu)) in autoscaled:
                k = deployments.index((name, replicas, gpu))
                metric = ("{type: Resource, resource: {name: cpu, target: "
                          "{type: Utilization, averageUtilization: 60}}}" if k % 2 == 0 else
                          "{type: Pods, pods: {metric: {name: nv_inference_request_success_per_second}, "
                          f"target: {{type: AverageValue, averageValue: \"{args.rps_per_pod:g}\"}}}}}}")
                f.write(f"""---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: {name}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  minReplicas: 1
  maxReplicas: {2 * replicas}
  metrics:
  - {metric}
  behavior: {{scaleDown: {{stabilizationWindowSeconds: 60}}}}
""")
    with open(os.path.join(args.out, "scenario.yaml"), "w") as f:
        f.write(f"""# {args.pods} pods ({gpu_pods} on GPUs) in {len(deployments)} Deployments on
# {cpu_nodes + gpu_nodes} nodes; written by tools/bench/platform_scenario.py.
apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {{name: platform-{args.pods}-pods}}
spec:
  duration: {args.duration}
  sampleInterval: 10m
  nodePools:
  - name: cpu
    count: {cpu_nodes}
    allocatable: {{cpu: "64", memory: 256Gi}}
  - name: gpu
    count: {gpu_nodes}
    labels: {{nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}}
    allocatable: {{cpu: "96", memory: 1000Gi, nvidia.com/gpu: "8"}}
  manifests:
  - file: manifests.yaml
  modelServers:
""")
        for k, (name, replicas, gpu) in enumerate(deployments):
            mean = "20ms" if gpu else "5ms"
            # An autoscaled server's CPU: 60% of its limit at the mean rate.
            cpu = ""
            if k in autoscaled and args.rps_per_pod > 0:
                cpu = f", cpuPerRequest: {0.6 * (4 if gpu else 0.5) / args.rps_per_pod * 1000:.0f}ms"
            f.write(f"  - {{deployment: {name}, maxConcurrency: 4{cpu}, "
                    f"serviceTime: {{kind: exponential, mean: {mean}}}}}\n")
        f.write("  traffic:\n" if args.rps_per_pod > 0 else "  traffic: []\n")
        if args.rps_per_pod > 0:
            for k, (name, replicas, _) in enumerate(deployments):
                rate = f"{args.rps_per_pod * replicas:g}"
                if k in autoscaled:  # one rise and fall over the run
                    f.write(f"  - {{service: {name}, arrivals: {{kind: diurnal, meanRate: {rate}, "
                            f"amplitude: 0.8, period: {args.duration}, peakAt: 0s}}}}\n")
                else:
                    f.write(f"  - {{service: {name}, arrivals: {{kind: poisson, rate: {rate}}}}}\n")
    print(f"{args.out}/scenario.yaml: {args.pods} pods ({gpu_pods} GPU) in {len(deployments)} "
          f"Deployments on {cpu_nodes} CPU + {gpu_nodes} GPU nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
