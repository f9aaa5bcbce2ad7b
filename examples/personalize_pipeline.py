# SPDX-License-Identifier: Apache-2.0
"""A retraining pipeline written for Amazon Personalize: filter, new solution version, campaign switch, batch job.

Runs against AWS as it is; against homerec, give homerec's URL as --endpoint-url (the only
difference). The batch job reads and writes S3 through boto3 as usual (for an S3-compatible
store, the standard AWS_ENDPOINT_URL_S3 variable points the s3 client at it).

    python examples/personalize_pipeline.py --endpoint-url http://localhost:8000 \\
        --dataset-group arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop \\
        --solution arn:aws:personalize:eu-west-1:123456789012:solution/shop \\
        --campaign arn:aws:personalize:eu-west-1:123456789012:campaign/shop \\
        --bucket shop-recs --role arn:aws:iam::123456789012:role/PersonalizeS3 --users C000042 C000043
"""

import argparse
import json
import time

import boto3


def wait(describe, key: str, status_of=lambda r: r["status"], timeout_s: float = 3600.0) -> dict:
    """Poll a Describe* call until its resource is ACTIVE (or fails)."""
    deadline = time.monotonic() + timeout_s
    while True:
        resource = describe()[key]
        status = status_of(resource)
        if status == "ACTIVE":
            return resource
        if "FAILED" in status:
            raise RuntimeError(f"{key} failed: {resource.get('failureReason')}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} still {status}")
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default=None, help="homerec's URL (leave out for AWS)")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--dataset-group", required=True)
    parser.add_argument("--solution", required=True)
    parser.add_argument("--campaign", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--role", required=True)
    parser.add_argument("--users", nargs="+", required=True)
    args = parser.parse_args()

    personalize = boto3.client("personalize", region_name=args.region, endpoint_url=args.endpoint_url)
    runtime = boto3.client("personalize-runtime", region_name=args.region, endpoint_url=args.endpoint_url)
    s3 = boto3.client("s3", region_name=args.region)
    stamp = time.strftime("%Y%m%d%H%M%S")

    # 1. A filter: leave out what the customer already bought.
    filter_arn = personalize.create_filter(
        name=f"not-bought-{stamp}", datasetGroupArn=args.dataset_group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")')["filterArn"]
    wait(lambda: personalize.describe_filter(filterArn=filter_arn), "filter")
    print("filter", filter_arn)

    # 2. Retrain: a new solution version, and its offline metrics.
    version_arn = personalize.create_solution_version(solutionArn=args.solution, trainingMode="FULL")["solutionVersionArn"]
    wait(lambda: personalize.describe_solution_version(solutionVersionArn=version_arn), "solutionVersion")
    metrics = personalize.get_solution_metrics(solutionVersionArn=version_arn)["metrics"]
    print("solution version", version_arn, json.dumps(metrics, sort_keys=True))

    # 3. Switch the campaign to it.
    previous = personalize.describe_campaign(campaignArn=args.campaign)["campaign"].get("solutionVersionArn")
    personalize.update_campaign(campaignArn=args.campaign, solutionVersionArn=version_arn)
    wait(lambda: personalize.describe_campaign(campaignArn=args.campaign), "campaign",
         status_of=lambda c: c.get("latestCampaignUpdate", c)["status"])
    print("campaign", args.campaign, "now serves", version_arn, "(was", previous, ")")

    # 4. A batch inference job over s3:// paths.
    lines = "".join(json.dumps({"userId": user}) + "\n" for user in args.users)
    s3.put_object(Bucket=args.bucket, Key=f"batch/{stamp}/in/users.json", Body=lines.encode())
    job_arn = personalize.create_batch_inference_job(
        jobName=f"nightly-{stamp}", solutionVersionArn=version_arn, filterArn=filter_arn, numResults=10,
        jobInput={"s3DataSource": {"path": f"s3://{args.bucket}/batch/{stamp}/in/"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{args.bucket}/batch/{stamp}/out/"}},
        roleArn=args.role)["batchInferenceJobArn"]
    wait(lambda: personalize.describe_batch_inference_job(batchInferenceJobArn=job_arn), "batchInferenceJob")

    # 5. Read its output, and ask the switched campaign live.
    body = s3.get_object(Bucket=args.bucket, Key=f"batch/{stamp}/out/users.json.out")["Body"].read().decode()
    for line in body.splitlines():
        doc = json.loads(line)
        print("batch", doc["input"]["userId"], doc["output"]["recommendedItems"][:5], doc["error"])
    live = runtime.get_recommendations(campaignArn=args.campaign, userId=args.users[0], numResults=5,
                                       filterArn=filter_arn)
    print("live", args.users[0], [(i["itemId"], i.get("score")) for i in live["itemList"]])


if __name__ == "__main__":
    main()
