# SPDX-License-Identifier: Apache-2.0
"""The Personalize control plane through `boto3.client("personalize")` against a real server.

Jobs run as they do in production: `homerec personalize-job` processes started by the server,
running `homerec train`, `homerec batch-inference` and `homerec import`, reporting through the
store. `s3://` paths resolve to a local folder here (HOMEREC_S3_ROOT); the S3-compatible path is
tested with the pipeline script (`test_pipeline_script.py`).
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from homerec.storage import open_store
from tests.live import serve_app
from tests.serving.conftest import make_settings

AK, SECRET, REGION = "AKIACP", "cp-secret", "eu-west-1"
ARN = "arn:aws:personalize:eu-west-1:123456789012"
GROUP = f"{ARN}:dataset-group/shop"
CAMPAIGN = f"{ARN}:campaign/shop"
PINNED = f"{ARN}:campaign/shop-pinned"
RECOMMENDER = f"{ARN}:recommender/for-you"
SOLUTION = f"{ARN}:solution/shop"
ALS_ONLY = f"{ARN}:solution/shop-als"
BROKEN = f"{ARN}:solution/shop-broken"
TRACKER = "shop-tracker"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def group_config(world: dict) -> dict:
    return {"arn": GROUP, "event_trackers": [TRACKER],
            "campaigns": {CAMPAIGN: {}, PINNED: {"version": world["version"], "exclude": "purchased"}},
            "recommenders": {RECOMMENDER: {"exclude": "purchased"}},
            "solutions": {SOLUTION: {}, ALS_ONLY: {"models": ["als"]}, BROKEN: {"models": ["no-such-model"]}}}


@pytest.fixture(scope="module")
def s3_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("s3")


@pytest.fixture(scope="module")
def url(world, s3_root) -> Iterator[str]:
    settings = make_settings(world, sigv4_keys={AK: SECRET}, dataset_groups=[group_config(world)], s3_root=s3_root)
    with serve_app(settings) as base:
        yield base


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=AK,
                        aws_secret_access_key=SECRET, config=NO_RETRY)


@pytest.fixture(scope="module")
def cp(url):
    return client("personalize", url)


@pytest.fixture(scope="module")
def runtime(url):
    return client("personalize-runtime", url)


def wait(describe, key: str, timeout_s: float = 240.0) -> tuple[dict, list[str]]:
    """Poll until the resource is ACTIVE or failed; the resource and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        resource = describe()[key]
        if not seen or seen[-1] != resource["status"]:
            seen.append(resource["status"])
        if resource["status"] == "ACTIVE" or "FAILED" in resource["status"]:
            return resource, seen
        assert time.monotonic() < deadline, f"{key} still {resource['status']}"
        time.sleep(0.2)


def test_lists_and_descriptions(cp, world):
    groups = cp.list_dataset_groups()["datasetGroups"]
    assert [g["datasetGroupArn"] for g in groups] == [GROUP] and groups[0]["status"] == "ACTIVE"
    assert cp.describe_dataset_group(datasetGroupArn=GROUP)["datasetGroup"]["name"] == "shop"
    datasets = cp.list_datasets(datasetGroupArn=GROUP)["datasets"]
    assert {d["datasetType"] for d in datasets} == {"INTERACTIONS", "ITEMS", "USERS"}
    assert cp.describe_dataset(datasetArn=f"{ARN}:dataset/shop/ITEMS")["dataset"]["datasetType"] == "ITEMS"
    tracker = cp.list_event_trackers(datasetGroupArn=GROUP)["eventTrackers"][0]
    assert cp.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"]["trackingId"] == TRACKER
    assert [r["recommenderArn"] for r in cp.list_recommenders()["recommenders"]] == [RECOMMENDER]
    assert cp.describe_recommender(recommenderArn=RECOMMENDER)["recommender"]["status"] == "ACTIVE"
    assert {s["solutionArn"] for s in cp.list_solutions()["solutions"]} == {SOLUTION, ALS_ONLY, BROKEN}
    assert cp.describe_solution(solutionArn=SOLUTION)["solution"]["datasetGroupArn"] == GROUP
    versions = cp.list_solution_versions(solutionArn=SOLUTION)["solutionVersions"]
    trained = f"{SOLUTION}/{world['version']}"
    assert trained in [v["solutionVersionArn"] for v in versions]
    described = cp.describe_solution_version(solutionVersionArn=trained)["solutionVersion"]
    assert described["status"] == "ACTIVE" and described["trainingMode"] == "FULL"
    metrics = cp.get_solution_metrics(solutionVersionArn=trained)["metrics"]
    assert 0 < metrics["normalized_discounted_cumulative_gain_at_10"] <= 1
    assert {c["campaignArn"] for c in cp.list_campaigns()["campaigns"]} == {CAMPAIGN, PINNED}
    campaign = cp.describe_campaign(campaignArn=CAMPAIGN)["campaign"]
    assert campaign["solutionVersionArn"] == trained and campaign["status"] == "ACTIVE"
    page = cp.list_campaigns(maxResults=1)
    assert len(page["campaigns"]) == 1 and cp.list_campaigns(nextToken=page["nextToken"])["campaigns"]
    for call in (lambda: cp.describe_solution_version(solutionVersionArn=f"{SOLUTION}/v99"),
                 lambda: cp.describe_dataset(datasetArn=f"{ARN}:dataset/other/ITEMS"),
                 lambda: cp.describe_solution(solutionArn=f"{ARN}:solution/nope"),
                 lambda: cp.describe_filter(filterArn=f"{ARN}:filter/nope")):
        with pytest.raises(cp.exceptions.ResourceNotFoundException):
            call()


def test_filters_created_and_deleted_take_effect_at_once(cp, runtime, world):
    user = world["cached_users"][0]
    arn = cp.create_filter(name="cp-no-plumbing", datasetGroupArn=GROUP,
                           filterExpression='EXCLUDE ItemID WHERE Items.CATEGORY IN ("Plumbing")')["filterArn"]
    assert arn == f"{ARN}:filter/cp-no-plumbing"
    assert cp.describe_filter(filterArn=arn)["filter"]["status"] == "ACTIVE"
    assert arn in [f["filterArn"] for f in cp.list_filters(datasetGroupArn=GROUP)["Filters"]]
    store = open_store(world["store_url"])
    try:
        plumbing = {r["item_id"] for r in store.items().to_dicts() if r["CATEGORY"] == "Plumbing"}
    finally:
        store.close()
    got = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=100, filterArn=arn)["itemList"]
    assert len(got) == 100 and not {i["itemId"] for i in got} & plumbing
    with pytest.raises(cp.exceptions.ResourceAlreadyExistsException):
        cp.create_filter(name="cp-no-plumbing", datasetGroupArn=GROUP,
                         filterExpression='EXCLUDE ItemID WHERE Items.CATEGORY IN ("Gloves")')
    for bad in ("EXCLUDE ItemID WHERE", "DROP TABLE items"):
        with pytest.raises(cp.exceptions.InvalidInputException):
            cp.create_filter(name="cp-bad", datasetGroupArn=GROUP, filterExpression=bad)
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.create_filter(name="cp-x", datasetGroupArn=f"{ARN}:dataset-group/other", filterExpression="x")
    cp.delete_filter(filterArn=arn)
    with pytest.raises(runtime.exceptions.ResourceNotFoundException):
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, filterArn=arn)
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.delete_filter(filterArn=arn)


def test_operations_outside_the_subset_name_what_is_supported(cp, url):
    with pytest.raises(cp.exceptions.InvalidInputException) as err:
        cp.create_campaign(name="x", solutionVersionArn=f"{SOLUTION}/v1")
    message = err.value.response["Error"]["Message"]
    assert "CreateCampaign is not supported" in message and "UpdateCampaign" in message
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "InvalidInputException"
    unsigned = httpx.post(url + "/", headers={"x-amz-target": "AmazonPersonalize.ListCampaigns",
                                              "content-type": "application/x-amz-json-1.1"}, content=b"{}")
    assert unsigned.status_code == 403  # the same SigV4 as the runtime
    with pytest.raises(cp.exceptions.InvalidInputException):
        cp.create_solution_version(solutionArn=SOLUTION, trainingMode="UPDATE")
    with pytest.raises(cp.exceptions.InvalidInputException):  # no s3 configured? here it is: a bad path
        cp.create_batch_inference_job(jobName="cp-bad", solutionVersionArn=f"{SOLUTION}/v1", roleArn="r",
                                      jobInput={"s3DataSource": {"path": "/etc/passwd"}},
                                      jobOutput={"s3DataDestination": {"path": "s3://b/out/"}})


@pytest.mark.slow
def test_retrain_switch_and_roll_back(cp, runtime, url, world):
    before = f"{SOLUTION}/{world['version']}"
    version_arn = cp.create_solution_version(solutionArn=ALS_ONLY)["solutionVersionArn"]
    assert version_arn.startswith(ALS_ONLY + "/")
    version, seen = wait(lambda: cp.describe_solution_version(solutionVersionArn=version_arn), "solutionVersion")
    assert version["status"] == "ACTIVE" and "CREATE IN_PROGRESS" in seen, (seen, version.get("failureReason"))
    assert version_arn in [v["solutionVersionArn"] for v in cp.list_solution_versions(solutionArn=ALS_ONLY)["solutionVersions"]]
    assert cp.get_solution_metrics(solutionVersionArn=version_arn)["solutionVersionArn"] == version_arn
    # Training does not deploy: the campaign still serves the old version until UpdateCampaign.
    assert cp.describe_campaign(campaignArn=CAMPAIGN)["campaign"]["solutionVersionArn"] == before
    cp.update_campaign(campaignArn=CAMPAIGN, solutionVersionArn=version_arn)
    campaign = cp.describe_campaign(campaignArn=CAMPAIGN)["campaign"]
    assert campaign["solutionVersionArn"] == version_arn and campaign["latestCampaignUpdate"]["status"] == "ACTIVE"
    served = httpx.get(f"{url}/v1/users/{world['cached_users'][0]}/recommendations").json()["model_version"]
    assert served != world["version"]  # the active version: every replica follows the registry
    # The pinned campaign stays where it was until it is updated itself.
    assert cp.describe_campaign(campaignArn=PINNED)["campaign"]["solutionVersionArn"] == before
    cp.update_campaign(campaignArn=PINNED, solutionVersionArn=version_arn)
    assert cp.describe_campaign(campaignArn=PINNED)["campaign"]["solutionVersionArn"] == version_arn
    runtime.get_recommendations(campaignArn=PINNED, userId=world["cached_users"][1], numResults=3)
    # Rollback is the same call with the previous version.
    cp.update_campaign(campaignArn=CAMPAIGN, solutionVersionArn=before)
    assert cp.describe_campaign(campaignArn=CAMPAIGN)["campaign"]["solutionVersionArn"] == before
    assert httpx.get(f"{url}/v1/users/{world['cached_users'][0]}/recommendations").json()["model_version"] == world["version"]
    cp.update_campaign(campaignArn=PINNED, solutionVersionArn=before)


@pytest.mark.slow
def test_a_failed_training_says_why(cp):
    arn = cp.create_solution_version(solutionArn=BROKEN)["solutionVersionArn"]
    version, _ = wait(lambda: cp.describe_solution_version(solutionVersionArn=arn), "solutionVersion")
    assert version["status"] == "CREATE FAILED" and "no-such-model" in version["failureReason"]
    with pytest.raises(cp.exceptions.ResourceInUseException):
        cp.update_campaign(campaignArn=CAMPAIGN, solutionVersionArn=arn)


@pytest.mark.slow
def test_batch_inference_job_over_a_local_s3_folder(cp, world, s3_root):
    users = world["cached_users"][:3]
    source = s3_root / "shop-bucket" / "jobs" / "in"
    source.mkdir(parents=True)
    lines = [json.dumps({"userId": u}) for u in users]
    lines += [json.dumps({"userId": users[0], "itemList": world["item_ids"][:4]}),
              json.dumps({"itemId": world["item_ids"][0]}), "not json", json.dumps({"userId": users[1],
                                                                                    "filterValues": {"X": "\"y\""}})]
    (source / "users.json").write_text("\n".join(lines) + "\n")
    filter_arn = cp.create_filter(name="cp-batch-not-bought", datasetGroupArn=GROUP,
                                  filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")')["filterArn"]
    arn = cp.create_batch_inference_job(
        jobName="cp-nightly", solutionVersionArn=f"{SOLUTION}/{world['version']}", filterArn=filter_arn, numResults=7,
        jobInput={"s3DataSource": {"path": "s3://shop-bucket/jobs/in/"}},
        jobOutput={"s3DataDestination": {"path": "s3://shop-bucket/jobs/out/"}}, roleArn="arn:aws:iam::1:role/r",
    )["batchInferenceJobArn"]
    job, seen = wait(lambda: cp.describe_batch_inference_job(batchInferenceJobArn=arn), "batchInferenceJob")
    assert job["status"] == "ACTIVE", (seen, job.get("failureReason"))
    assert job["jobOutput"]["s3DataDestination"]["path"] == "s3://shop-bucket/jobs/out/" and job["numResults"] == 7
    assert arn in [j["batchInferenceJobArn"] for j in cp.list_batch_inference_jobs()["batchInferenceJobs"]]
    out = [json.loads(x) for x in (s3_root / "shop-bucket" / "jobs" / "out" / "users.json.out").read_text().splitlines()]
    assert len(out) == len(lines)
    store = open_store(world["store_url"])
    try:
        for doc in out[:3]:
            items, scores = doc["output"]["recommendedItems"], doc["output"]["scores"]
            bought = set(store.history(doc["input"]["userId"])["item_id"].to_list())
            assert len(items) == 7 == len(scores) and not set(items) & bought and sum(scores) <= 1.0
    finally:
        store.close()
    ranked = out[3]["output"]
    assert sorted(ranked["recommendedItems"]) == sorted(world["item_ids"][:4]) and 0.999 < sum(ranked["scores"]) <= 1
    assert "scores" not in out[4]["output"] and len(out[4]["output"]["recommendedItems"]) == 7
    assert out[5]["error"] and out[5]["output"] is None
    assert out[6]["error"] is None  # a placeholder the filter does not use is ignored
    with pytest.raises(cp.exceptions.ResourceAlreadyExistsException):
        cp.create_batch_inference_job(
            jobName="cp-nightly", solutionVersionArn=f"{SOLUTION}/{world['version']}", roleArn="r",
            jobInput={"s3DataSource": {"path": "s3://shop-bucket/jobs/in/"}},
            jobOutput={"s3DataDestination": {"path": "s3://shop-bucket/jobs/out/"}})


@pytest.mark.slow
def test_dataset_import_job(cp, world, s3_root):
    folder = s3_root / "shop-bucket" / "imports"
    folder.mkdir(parents=True)
    (folder / "interactions.csv").write_text("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"
                                             f"cp-imported,{world['item_ids'][0]},1700000000,purchase\n"
                                             f"cp-imported,{world['item_ids'][1]},1700000100,purchase\n")
    (folder / "broken.csv").write_text("NOT_A_COLUMN\n1\n")
    arn = cp.create_dataset_import_job(jobName="cp-import", datasetArn=f"{ARN}:dataset/shop/INTERACTIONS",
                                       dataSource={"dataLocation": "s3://shop-bucket/imports/interactions.csv"},
                                       roleArn="r", importMode="INCREMENTAL")["datasetImportJobArn"]
    job, seen = wait(lambda: cp.describe_dataset_import_job(datasetImportJobArn=arn), "datasetImportJob")
    assert job["status"] == "ACTIVE", (seen, job.get("failureReason"))
    store = open_store(world["store_url"])
    try:
        assert store.history("cp-imported").height == 2
    finally:
        store.close()
    bad = cp.create_dataset_import_job(jobName="cp-import-bad", datasetArn=f"{ARN}:dataset/shop/INTERACTIONS",
                                       dataSource={"dataLocation": "s3://shop-bucket/imports/broken.csv"},
                                       roleArn="r")["datasetImportJobArn"]
    job, _ = wait(lambda: cp.describe_dataset_import_job(datasetImportJobArn=bad), "datasetImportJob")
    assert job["status"] == "CREATE FAILED" and "USER_ID" in job["failureReason"]
    assert {j["jobName"] for j in cp.list_dataset_import_jobs()["datasetImportJobs"]} == {"cp-import", "cp-import-bad"}
