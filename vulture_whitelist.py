"""What vulture cannot see used: names called by a framework, by the contract or by tests.

Read by ``vulture core plugins vulture_whitelist.py`` (``tox -e lint``; the settings are
``[tool.vulture]`` in pyproject.toml), never imported. Vulture matches by name: each
``_.name`` below marks every definition called ``name`` as used. Whole kinds of use are
rules in pyproject.toml instead (hook implementations and specs, click commands, huey
tasks, pydantic validators, peewee ``Meta`` options, pytest hooks, the migrations); list here
only what no rule covers, each under the reason it is used.
"""


class _Used:
    def __getattr__(self, name: str) -> None:
        return None


def _used(*names: object) -> None:
    pass


_ = _Used()

# Handlers: Connexion calls each by its operation's operationId (in snake case) in
# spec/openapi.yaml. tests/contract/test_dead_code.py checks this list against the spec.
_used(
    _.apply_capture_proposals,
    _.create_capture,
    _.create_session,
    _.end_session,
    _.get_capture,
    _.get_freshness_thresholds,
    _.get_liveness,
    _.get_presigned_upload_url,
    _.get_readiness,
    _.get_session,
    _.get_session_status,
    _.list_capture_proposals,
    _.list_plugins,
    _.list_sessions,
    _.receive_upload,
    _.register_photo,
    _.reorder_photos,
    _.resolve_url,
    _.retry_capture,
    _.review_proposal,
    _.save_capture_redirect,
    _.sign_in,
    _.sign_out,
    _.submit_session,
    _.update_photo,
    _.upload_capture_image,
)

# Named in a string: the ASGI factory (``scanserve.asgi:served_app``).
_used(_.served_app)

# Overrides of what a framework calls or reads: Connexion (oas31, security), huey (queue),
# asyncio and uvicorn (server), logging (logconfig); pydantic's ``model_config``;
# prometheus-client's collectors (metrics); the test client Connexion calls by its class
# (connexion_import).
_used(
    _.collect,
    _.__new__,
    _._form_parser_cls,
    _._produces,
    _._base_uri,
    _._validate_spec,
    _.with_base_path,
    _._decorated,
    _.make_operation,
    _.api_cls,
    _.resolve_operation_id,
    _.get_fn,
    _.get_cookie_value,
    _.is_revoked,
    _.peek,  # is_revoked's argument, as huey passes it (and ObjectStore.peek, below)
    _.revoke_all,
    _.revoke_by_id,
    _.task_count,
    _._next_loop,
    _.worker_class,
    _.scheduler_class,
    _.data_received,
    _.disconnected,
    _.http,
    _.formatTime,
    _.datefmt,
    _.model_config,
)

# Model fields only ever written by keyword (``create(device_context=...)``).
_used(_.device_context)

# Dataclass fields read only by the generated ordering (``order=True``): a route's
# specificity sorts the route table (scanserve.http.routing).
_used(_.specificity)

# Used only by tests, kept because those tests test more than the function (issue 16):
# ObjectStore.peek (test_photo_journey), ids.to_uuid (test_fast_path),
# imaging.request_wait_seconds (test_image_limits), HookDoc.undocumented (test_hook_docs,
# the check that every hook is documented), app.unimplemented_operations (test_contract),
# the QR resolution's ``succeeded`` (test_qr_hostile_urls), tracing.disable (test_tracing:
# a test's tracer provider goes at its end).
_used(
    _.disable,
    _.to_uuid,
    _.request_wait_seconds,
    _.undocumented,
    _.unimplemented_operations,
    _.succeeded,
)

# scanserve.sandbox's public surface for client projects' tests (docs/sandbox.md): called by
# them, and by tests/journeys/test_sandbox.py, never by the server.
_used(_.banner, _.advance_clock, _.force)
# schemathesis hooks: @schemathesis.hook registers a function under its name, and the engine
# calls it by that name (scanserve conformance, core/cli/conformance.py).
_used(_.before_call)
_used(_.after_call)
