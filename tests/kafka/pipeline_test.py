#!/usr/bin/env python3
"""Integration tests of the streaming pipeline on a real Kafka broker.

Usage: pipeline_test.py BUILD_DIR SCENARIO
Scenarios, by concern (one module each, over the shared harness.py):
  group.py       group1 group2 group3 batch-parts backend-NAME join-leave
                 join-leave-eos join-leave-kip848 orphan paused-rebalance idle-group
  delivery.py    dead-letter chaos-alo chaos-eos sigterm producer
                 producer-interrupt poison-alo poison-eos trace
  faults.py      outage; on a secured cluster: leader-loss (both delivery modes)
                 acl-revoke rolling-restart cluster-down
  security.py    secure-pipeline secure-refusals secure-oauth (secured cluster)
  registry.py    registry-pipeline registry-outage (fixture "registry")
  monitoring.py  prometheus
  replay.py      start-at
  redrive.py     redrive
  share.py       share (fixture kafka44: a Kafka 4.4 broker)
  deploy.py      image (DHATU_TEST_IMAGE), k8s-rendered (mutual-TLS cluster)
"""
from harness import *  # noqa: F401,F403
from group import group_scenario, batch_parts, backend_scenario, join_leave, orphan, paused_rebalance, idle_group
from delivery import dead_letter, chaos, sigterm, producer_inputs, poison, producer_interrupt, trace, frozen_eos
from faults import outage, leader_loss, cluster_failures, acl_revoke
from security import secure_pipeline, secure_oauth, secure_refusals
from monitoring import prometheus
from registry import registry_pipeline, registry_outage
from deploy import image_scenario, k8s_rendered
from replay import start_at
from redrive import redrive_scenario
from share import share_scenario

try:
    if SCENARIO.startswith("group"):
        group_scenario(int(SCENARIO[5:]))
    elif SCENARIO.startswith("backend-"):
        backend_scenario(SCENARIO[8:])
    elif SCENARIO == "dead-letter":
        dead_letter()
    elif SCENARIO == "chaos-alo":
        chaos(False)
    elif SCENARIO == "chaos-eos":
        chaos(True)
    elif SCENARIO == "secure-oauth":
        secure_oauth()
    elif SCENARIO == "orphan":
        orphan()
    elif SCENARIO == "join-leave":
        join_leave()
    elif SCENARIO == "join-leave-eos":
        join_leave("--exactly-once")
    elif SCENARIO == "join-leave-kip848":
        join_leave("-s", "kafka.group_protocol=consumer")
    elif SCENARIO == "sigterm":
        sigterm()
    elif SCENARIO == "frozen-eos":
        frozen_eos()
    elif SCENARIO == "batch-parts":
        batch_parts()
    elif SCENARIO == "paused-rebalance":
        paused_rebalance()
    elif SCENARIO == "producer":
        producer_inputs()
    elif SCENARIO == "prometheus":
        prometheus()
    elif SCENARIO == "start-at":
        start_at()
    elif SCENARIO == "share":
        share_scenario()
    elif SCENARIO == "redrive":
        redrive_scenario()
    elif SCENARIO == "trace":
        trace()
    elif SCENARIO == "producer-interrupt":
        producer_interrupt()
    elif SCENARIO == "idle-group":
        idle_group()
    elif SCENARIO == "outage":
        outage()
    elif SCENARIO == "poison-alo":
        poison(False)
    elif SCENARIO == "poison-eos":
        poison(True)
    elif SCENARIO == "secure-pipeline":
        secure_pipeline()
    elif SCENARIO == "secure-refusals":
        secure_refusals()
    elif SCENARIO == "leader-loss":
        leader_loss()
    elif SCENARIO == "acl-revoke":
        acl_revoke()
    elif SCENARIO == "rolling-restart":
        cluster_failures("rolling")
    elif SCENARIO == "cluster-down":
        cluster_failures("down")
    elif SCENARIO == "registry-pipeline":
        registry_pipeline()
    elif SCENARIO == "registry-outage":
        registry_outage()
    elif SCENARIO == "image":
        image_scenario()
    elif SCENARIO == "k8s-rendered":
        k8s_rendered()
    else:
        fail("unknown scenario")
finally:
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
    for fn in CLEANUPS:
        fn()
log("PASS")
