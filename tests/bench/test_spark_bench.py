# SPDX-License-Identifier: Apache-2.0
"""bench/spark.py's measuring helpers: CPU of child processes, metrics of a model with its own id maps, the section."""

import subprocess
import sys
import time

import numpy as np

from bench.spark import protocol_metrics, spark_section, tree_cpu_seconds
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.evaluation.dataset import read_folder
from homerec.evaluation.evaluate import score_model
from homerec.evaluation.split import eval_users, ground_truth, temporal_split
from homerec.models.item_knn import ItemKNN
from homerec.synth.generate import generate


def test_cpu_of_a_busy_child_is_counted():
    before = tree_cpu_seconds()
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.6: pass\ntime.sleep(60)"])
    try:
        deadline = time.monotonic() + 60
        while tree_cpu_seconds() - before < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tree_cpu_seconds() - before >= 0.5
    finally:
        child.kill()
        child.wait()


def test_metrics_of_a_model_with_other_id_maps_match_the_protocols(tmp_path):
    generate(tmp_path / "data", scale=0.002, seed=1)
    data = read_folder(tmp_path / "data").interactions
    split = temporal_split(data)
    users = eval_users(split)
    truth = ground_truth(split, users)
    model = ItemKNN().fit(split.train)
    expected = score_model(model, split, users, truth, 10)
    # The same events over reversed id maps: a registered version's maps need not be the split's.
    rev_users, rev_items = IdMap(split.train.users.ids[::-1], "user"), IdMap(split.train.items.ids[::-1], "item")
    t = split.train
    shuffled = Interactions(len(rev_users) - 1 - t.user_idx, len(rev_items) - 1 - t.item_idx, t.weight, t.ts,
                            rev_users, rev_items)
    other = ItemKNN().fit(shuffled)
    got = protocol_metrics(other, split, users, truth)
    assert np.isclose(got["NDCG@10"], expected["NDCG@10"]) and np.isclose(got["HR@10"], expected["HR@10"])
    assert 0 < got["top-item share@10"] <= 1


def test_the_section_says_missed_when_a_target_is_missed():
    metrics = {"NDCG@10": 0.1, "HR@10": 0.3, "Recall@10": 0.2, "MAP@10": 0.05, "Coverage@10": 0.5,
               "top-item share@10": 0.04}
    doc = {"command": "python -m bench.spark --scale 1.0", "scale": 1.0, "n_interactions": 10, "n_eval_users": 5,
           "quality": {"single-machine ALS (implicit)": metrics, "Spark ALS": {**metrics, "NDCG@10": 0.09}},
           "ndcg_ratio": 0.9, "ci_seconds": 95.0, "cpu_ratio": 20.0,
           "fit": {"spark": {"cpu_seconds": 20.0, "wall_seconds": 12.0}, "implicit": {"cpu_seconds": 1.0, "wall_seconds": 0.6}},
           "train_seconds": {"single-machine": 3.0, "spark": 60.0}, "spark_params": {"regularization": 1.0},
           "mix": {"spark": 0.25, "single-machine": 0.1}}
    text = spark_section(doc)
    assert text.count("**missed**") == 2 and "0.900×" in text and "20.0×" in text
