# SPDX-License-Identifier: Apache-2.0
"""Every response carries exactly one x-amzn-RequestId, whichever part of the app produced it."""

import json


def _ids(response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k.lower() == "x-amzn-requestid"]


def test_native_answers_and_errors_carry_a_request_id(client, world):
    user = world["cached_users"][0]
    responses = [
        client.get(f"/v1/users/{user}/recommendations"),
        client.get("/v1/users/x/recommendations?num_results=100000"),  # 422
        client.get("/no/such/route"),  # 404 from the router
        client.delete("/v1/events"),  # 405
        client.get("/healthz"),
    ]
    assert [r.status_code for r in responses] == [200, 422, 404, 405, 200]
    ids = [_ids(r) for r in responses]
    assert all(len(i) == 1 and len(i[0]) >= 32 for i in ids), ids
    assert len({i[0] for i in ids}) == len(ids)  # a fresh id per response


def test_the_personalize_adapter_keeps_its_own_single_id(client, world):
    body = {"campaignArn": "arn:aws:personalize:us-east-1:1:campaign/x", "userId": world["cached_users"][0]}
    r = client.post("/recommendations", content=json.dumps(body))
    assert len(_ids(r)) == 1
