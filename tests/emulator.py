"""An AWS emulator for the deploy tests: moto server on loopback, in a process of its own.

    python -m tests.emulator --port 5000 [--account 111111111111]

Where moto differs from AWS in a way a deploy path meets, the difference is mended here, in the
test harness, never in product code. Each workaround names what real AWS does:

1. S3 notification filter rules: AWS accepts the rule names `Prefix`/`Suffix` in any case (Chalice
   sends `Prefix`); moto asserts lowercase and answers 500. Here the names are lowercased first.
2. `ListEventSourceMappings(FunctionName=…)`: AWS accepts a function's name or its ARN whichever
   the mapping was created with (Chalice creates it with the ARN, `wire` asks by name); moto
   compares the exact string. Here a name also matches the mapping of that function's ARN.
3. `DeadLetterConfig` of a function: AWS stores it (CreateFunction, UpdateFunctionConfiguration)
   and returns it from GetFunctionConfiguration; moto drops it. Here it is kept and returned.
   Likewise `KMSKeyArn` and `TracingConfig` given to UpdateFunctionConfiguration: AWS applies
   them, moto keeps only what CreateFunction was given. Here an update applies them.
4. A REST API from a Swagger 2.0 document (what Chalice writes; `chalice deploy` imports it with
   ImportRestApi, Terraform's `aws_api_gateway_rest_api.body` puts it with PutRestApi). AWS takes
   Swagger 2.0 and OpenAPI 3, `info.description` optional, and sets each method's authorization
   from its `security` entry: a scheme with `x-amazon-apigateway-authtype: awsSigv4` is
   `AWS_IAM`, an `apiKey` scheme named `api_key` makes the method require a key. moto refuses a
   `swagger` document in PutRestApi, requires `info.description` (500 without it) and ignores
   `security` (every method `NONE`), and keeps an integration's `type` as written (`aws_proxy`)
   where AWS answers it upper-case (`AWS_PROXY`). Here the document is read as AWS reads it.

Each process is a fresh account (`--account` sets moto's default account id), so two emulators
in one test are two independent AWS accounts.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading


def install_workarounds() -> None:
    """Patch moto's in-process backends as the module docstring lists (1, 2 and 3)."""
    from moto.awslambda import models as lambda_models
    from moto.s3 import responses as s3_responses

    # 1. S3 filter rule names in any case.
    parse_notification = s3_responses.S3Response._notification_config_from_body

    def notification_config_from_body(self):
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        self.body = re.sub(r"<Name>(Prefix|Suffix)</Name>", lambda m: f"<Name>{m.group(1).lower()}</Name>", body)
        return parse_notification(self)

    s3_responses.S3Response._notification_config_from_body = notification_config_from_body

    # 2. Event source mappings listed by function name or ARN.
    list_mappings = lambda_models.LambdaBackend.list_event_source_mappings

    def list_event_source_mappings(self, event_source_arn, function_name):
        found = list_mappings(self, event_source_arn, function_name)
        if found or not function_name or function_name.startswith("arn:"):
            return found
        function = self._lambdas.get_function_by_name_or_arn_forbid_qualifier(function_name)
        return list_mappings(self, event_source_arn, function.function_arn)

    lambda_models.LambdaBackend.list_event_source_mappings = list_event_source_mappings

    # 3. DeadLetterConfig kept and returned.
    function_class = lambda_models.LambdaFunction
    init, update, describe = (
        function_class.__init__,
        function_class.update_configuration,
        function_class.get_configuration,
    )

    def __init__(self, account_id, spec, region, version=1):
        init(self, account_id, spec, region, version)
        self.dead_letter_config = spec.get("DeadLetterConfig")

    def update_configuration(self, config_updates):
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"]
        if "KMSKeyArn" in config_updates:
            self.kms_key_arn = config_updates["KMSKeyArn"]
        if "TracingConfig" in config_updates:
            self.tracing_config = config_updates["TracingConfig"]
        return update(self, config_updates)

    def get_configuration(self, on_create=False):
        config = describe(self, on_create)
        if getattr(self, "dead_letter_config", None):
            config["DeadLetterConfig"] = self.dead_letter_config
        return config

    function_class.__init__ = __init__
    function_class.update_configuration = update_configuration
    function_class.get_configuration = get_configuration

    _install_rest_api_from_swagger()


def _install_rest_api_from_swagger() -> None:
    """Workaround 4: Swagger 2.0 documents, an optional description and `security` applied."""
    from moto.apigateway import models as apigateway_models

    backend = apigateway_models.APIGatewayBackend
    import_api, put_api = backend.import_rest_api, backend.put_rest_api

    def import_rest_api(self, api_doc, fail_on_warnings):
        info = {"description": "", **(api_doc.get("info") or {})}
        return import_api(self, {**api_doc, "info": info}, fail_on_warnings)

    def put_rest_api(self, function_id, api_doc, fail_on_warnings, mode="merge"):
        as_openapi = {k: v for k, v in api_doc.items() if k != "swagger"}
        if "swagger" in api_doc:
            as_openapi["openapi"] = "3.0.1"  # moto reads only `paths` and the integrations of either
        api = put_api(self, function_id, as_openapi, fail_on_warnings, mode)
        schemes = api_doc.get("securityDefinitions") or (api_doc.get("components") or {}).get("securitySchemes") or {}
        for path, methods in (api_doc.get("paths") or {}).items():
            resource = api.get_resource_for_path(path)
            for verb, method_doc in methods.items():
                method = resource.resource_methods.get(verb.upper()) if resource else None
                if method is None or not isinstance(method_doc, dict):
                    continue
                integration = getattr(method, "method_integration", None)
                if integration is not None and integration.integration_type:
                    integration.integration_type = integration.integration_type.upper()
                for requirement in method_doc.get("security") or []:
                    for name in requirement:
                        scheme = schemes.get(name) or {}
                        if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4":
                            method.authorization_type = "AWS_IAM"
                        elif scheme.get("type") == "apiKey" and name == "api_key":
                            method.api_key_required = True
        return api

    backend.import_rest_api = import_rest_api
    backend.put_rest_api = put_rest_api


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", default="123456789012", help="the emulated account's id")
    args = parser.parse_args()
    os.environ["MOTO_ACCOUNT_ID"] = args.account
    install_workarounds()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"emulator listening on http://127.0.0.1:{args.port} (account {args.account})", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
