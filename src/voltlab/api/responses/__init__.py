"""The Gateway API's response bodies as pydantic models: what each route answers, success and
error, as `/openapi.json` declares it (and tests/e2e/test_openapi_truth.py checks against real
answers). Pure data: these modules import pydantic and the protocol vocabulary only, so a client
can share them."""
