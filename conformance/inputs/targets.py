"""Targets: the candidate supplier systems under test, from a URL or a targets file.

Targets file (YAML)::

    targets:
      acme:
        base_url: https://records.acme.example/api
        supplier: Acme Ltd
        product: Acme Records
        product_version: "4.2"
        auth: {type: api_key, header: X-API-Key, env: ACME_API_KEY}   # or {type: bearer, env: ACME_TOKEN}
        # or {type: oauth2_client_credentials, token_url: /oauth/token, client_id: harness, env: ACME_SECRET,
        #     scope: records}  -- the harness fetches tokens, and fresh ones before they expire
        reset: {request: POST /test-support/reset}   # or {command: "./reset-db.sh --force"}
        restart: {command: "systemctl restart acme-records"}   # or {request: POST /test-support/restart}
        tls: {ca: certs/acme-ca.pem, client_cert: certs/harness.pem, client_key: certs/harness.key}
        claims: {profiles: [pole-records@1.0.0], requirements: [POLE-SRCH-002]}  # shown against what is demonstrated
        headers: {X-Tenant: north, X-Client-Secret: {env: ACME_CLIENT_SECRET}}   # {env: VAR}: read at run time
        timeout_s: 30          # the longest one request may take, connect to last byte (default 30)
        params: {collection: lakes, feature_id: "42"}   # values the profile's `parameters:` ask for

`reset` puts the system back in a known state; the harness uses it before each schema and contract requirement so
every requirement, and every re-run with the same seed, starts from the same data (before each schema
and contract requirement).

`restart` restarts the system's process, for the requirements that check what survives a restart (a call in
progress): a command run to its end, or a request under base_url; either way the harness then waits until the
system answers again at the same base URL. A requirement that needs a restart, against a target that declares
none, is an error naming what is missing, never a pass.

Credentials are read from the named environment variables at run time and never written anywhere:
run.json records the variable's name, never its value. A header value given as `{env: VAR}` is read the same
way and replaced by `${VAR}` in evidence; a header whose name looks like a credential (secret, token, key,
password, auth, cookie) is masked in evidence whatever its source. Header names are HTTP tokens of at most 256
characters and values at most 4096 characters (schemas/targets.schema.json).

`timeout_s` bounds every exchange the harness itself makes with the system (preflight, reset, scenarios, Python
checks): connect, headers and the whole body within that many seconds, or the requirement is an `error` naming
the bound. The schema engine gets it as its per-request timeout.

`params` are values that belong to this target, not to the standard (the profile declares them under
`parameters:`); `--param NAME=VALUE` adds to or replaces them. They are recorded in run.json and reports: never
a secret.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from conformance.errors import TargetError, UsageError
from conformance.inputs.yamlfile import LocatedYaml, dotted, explain_schema_error, load_located_yaml
from conformance.schemas import load_schema

__all__ = ["DEFAULT_TIMEOUT_S", "AuthSpec", "ResetSpec", "Target", "TlsSpec", "parse_param_options",
           "parse_system_options", "parse_target"]

_TARGET_KEYS = ("base_url", "supplier", "product", "product_version", "auth", "headers", "description", "reset",
                "restart", "tls", "claims", "systems", "timeout_s", "params")
_SYSTEM_KEYS = ("base_url", "supplier", "product", "product_version", "auth", "headers", "description", "reset",
                "tls", "timeout_s")
DEFAULT_TIMEOUT_S = 30.0
_TLS_KEYS = ("ca", "client_cert", "client_key")
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
_AUTH_TYPES = ("api_key", "bearer", "oauth2_client_credentials")


@dataclass(frozen=True)
class AuthSpec:
    type: str
    env: str
    header: str = "Authorization"
    token_url: str | None = None  # oauth2_client_credentials
    client_id: str | None = None
    scope: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"type": self.type, "header": self.header, "env": self.env}
        if self.type == "oauth2_client_credentials":
            out.update(token_url=self.token_url or "", client_id=self.client_id or "", scope=self.scope or "")
        return out


@dataclass(frozen=True)
class ResetSpec:
    """How to put the target back in a known state (`reset`), or restart its process (`restart`): an HTTP request
    under base_url, or a command."""

    request: tuple[str, str] | None = None  # (method, path)
    command: str | None = None

    def to_dict(self) -> dict[str, str]:
        if self.request:
            return {"request": " ".join(self.request)}
        return {"command": self.command or ""}


@dataclass(frozen=True)
class TlsSpec:
    """HTTPS details: the CA that signed the target's certificate, and the harness's client certificate
    for mutual TLS. Paths only; a key file's content never leaves it."""

    ca: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"ca": self.ca, "client_cert": self.client_cert, "client_key": self.client_key}


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    source: str
    supplier: str = "unknown supplier"
    product: str | None = None
    product_version: str | None = None
    auth: AuthSpec | None = None
    headers: dict[str, str] = field(default_factory=dict)
    header_env: dict[str, str] = field(default_factory=dict)  # header name -> environment variable of its value
    timeout_s: float = DEFAULT_TIMEOUT_S
    reset: ResetSpec | None = None
    restart: ResetSpec | None = None  # how to restart the system's process (a hook of the same shape as reset)
    tls: TlsSpec | None = None
    claims: dict[str, list[str]] | None = None  # {"profiles": [...], "requirements": [...]}, as the supplier says
    # Other systems some requirements talk to (a court receiver, a migration peer), by the profile's names.
    systems: dict[str, Target] = field(default_factory=dict)
    # Values the profile's `parameters:` ask for (which collection, which record), by name; never secrets.
    params: dict[str, str] = field(default_factory=dict)

    def with_params(self, extra: dict[str, str]) -> Target:
        """This target with `--param NAME=VALUE` values added (replacing any of the same name)."""
        return replace(self, params={**self.params, **extra}) if extra else self

    def with_systems(self, extra: dict[str, str]) -> Target:
        """This target with `--system NAME=URL` systems added (replacing any of the same name)."""
        given = {name: Target(name=name, base_url=_check_url(url, key=f"--system {name}"), source=url,
                              supplier=urlsplit(url).netloc) for name, url in extra.items()}
        return replace(self, systems={**self.systems, **given})

    def http_options(self) -> dict[str, Any]:
        """verify/cert for every HTTP client the harness opens besides the engine (preflight, reset, tokens)."""
        if self.tls is None:
            return {}
        options: dict[str, Any] = {}
        if self.tls.ca:
            import ssl

            options["verify"] = ssl.create_default_context(cafile=self.tls.ca)
            if self.tls.client_cert:
                options["verify"].load_cert_chain(self.tls.client_cert, self.tls.client_key)
        elif self.tls.client_cert:
            options["cert"] = (self.tls.client_cert, self.tls.client_key)
        return options

    def to_dict(self) -> dict[str, Any]:
        """What may be recorded: names of credential variables, never their values."""
        return {
            "name": self.name, "base_url": self.base_url, "source": self.source, "supplier": self.supplier,
            "product": self.product, "product_version": self.product_version,
            "auth": self.auth.to_dict() if self.auth else None,
            "reset": self.reset.to_dict() if self.reset else None,
            **({"restart": self.restart.to_dict()} if self.restart else {}),
            "tls": self.tls.to_dict() if self.tls else None,
            "claims": self.claims,
            **({"header_env": dict(self.header_env)} if self.header_env else {}),
            **({"timeout_s": self.timeout_s} if self.timeout_s != DEFAULT_TIMEOUT_S else {}),
            **({"systems": {name: system.to_dict() for name, system in self.systems.items()}}
               if self.systems else {}),
            **({"params": dict(self.params)} if self.params else {}),
        }

    def request_headers(self) -> dict[str, str]:
        """Headers to send, credentials resolved from the environment."""
        headers = dict(self.headers)
        for header, env in self.header_env.items():
            value = os.environ.get(env)
            if not value:
                raise TargetError(
                    f"environment variable {env} is not set", key=f"targets.{self.name}.headers.{header}",
                    file=self.source.partition("#")[0] if "#" in self.source else None,
                    fix=f"export {env} with the value of the {header} header",
                )
            headers[header] = value
        if self.auth is not None:
            secret = self._secret()
            if self.auth.type != "oauth2_client_credentials":  # OAuth2 headers come from `token_source`
                headers[self.auth.header] = f"Bearer {secret}" if self.auth.type == "bearer" else secret
        return headers

    def _secret(self) -> str:
        assert self.auth is not None
        secret = os.environ.get(self.auth.env)
        if not secret:
            raise TargetError(
                f"environment variable {self.auth.env} is not set", key=f"targets.{self.name}.auth.env",
                file=self.source.partition("#")[0] if "#" in self.source else None,
                fix=f"export {self.auth.env} with the credential for {self.supplier}",
            )
        return secret

    def secrets(self) -> dict[str, str]:
        """The credentials this target and its other systems were given, each with the placeholder that replaces
        it in evidence (`${VAR}`, the environment variable's name)."""
        found: dict[str, str] = {}
        for target in (self, *self.systems.values()):
            for env in target.header_env.values():
                if os.environ.get(env):
                    found[os.environ[env]] = "${" + env + "}"
            if target.auth is not None:
                secret = os.environ.get(target.auth.env)
                if secret:
                    found[secret] = "${" + target.auth.env + "}"
        return found

    def oauth_secret(self) -> str:
        """The OAuth2 client secret (a TargetError naming the variable when it is not set)."""
        return self._secret()


def _check_url(url: str, *, file: str | None = None, line: int | None = None, key: str | None = None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TargetError(f"'{url}' is not an http(s) URL", file=file, line=line, key=key,
                          fix="give the supplier's base URL, e.g. http://127.0.0.1:8000")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise TargetError("a base URL must not carry credentials, a query or a fragment (it is recorded in every "
                          "report)", file=file, line=line, key=key,
                          fix="put credentials in a targets file's `auth`, read from an environment variable")
    return url.rstrip("/")


def parse_target(spec: str, *, supplier: str | None = None) -> Target:
    """`URL` or `targets.yaml#name` -> Target."""
    if spec.startswith(("http://", "https://")) or "://" in spec:
        url = _check_url(spec)
        host = urlsplit(url).hostname or "target"
        return Target(name=host, base_url=url, source=spec, supplier=supplier or host)
    file, _, name = spec.partition("#")
    path = Path(file)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise TargetError(f"'{spec}' is neither a URL nor a targets file",
                          fix="use --target http://host:port or --target targets.yaml#name")
    doc = load_located_yaml(path, error=TargetError)
    targets = doc.data.get("targets") if isinstance(doc.data, dict) else None
    if not isinstance(targets, dict) or not targets:
        raise TargetError("no 'targets' mapping", file=file, line=1, key="targets",
                          fix="write `targets:` with one entry per supplier system")
    if not name:
        if len(targets) != 1:
            raise TargetError(f"which target? this file has {', '.join(targets)}", file=file,
                              fix=f"use --target {file}#NAME")
        name = next(iter(targets))
    if name not in targets:
        close = difflib.get_close_matches(name, list(targets), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"targets here: {', '.join(targets)}"
        raise TargetError(f"no target named '{name}'", file=file, key="targets", fix=hint)
    target = _target_from_mapping(targets[name], name, doc, path, ["targets", name], supplier, _TARGET_KEYS)
    _check_schema(doc, name)
    return target


def _check_schema(doc: LocatedYaml, name: str) -> None:
    """The chosen target against schemas/targets.schema.json, after the checks above (their messages say more).
    Only the chosen entry: a run is not refused over another supplier's entry in a shared file."""
    validator = jsonschema.Draft202012Validator(load_schema("targets"))
    chosen = {"targets": {name: doc.data["targets"][name]}}
    for error in sorted(validator.iter_errors(chosen), key=lambda e: [str(p) for p in e.absolute_path]):
        for problem in explain_schema_error(error, doc, schema_name="schemas/targets.schema.json"):
            raise TargetError(problem.problem, file=problem.file, line=problem.line, key=problem.key,
                              fix=problem.fix)


def parse_system_options(values: Sequence[str], option: str = "--system") -> dict[str, str]:
    """`NAME=URL` command-line pairs (the other systems a run or a reference talks to), each URL an http(s) base
    URL; UsageError naming `option` if one is malformed or a name is given twice."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise UsageError(f"{option} {value}: expected NAME=URL, e.g. {option} receiver=http://127.0.0.1:8001")
        if name in out:
            raise UsageError(f"{option}: {name} is given twice")
        out[name] = url.rstrip("/")
    return out


def parse_param_options(values: Sequence[str]) -> dict[str, str]:
    """`--param NAME=VALUE` pairs; UsageError if one is malformed or a name is given twice."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--param {value}: expected NAME=VALUE, e.g. --param collection=lakes")
        if name in out:
            raise UsageError(f"--param: {name} is given twice")
        out[name] = text
    return out


def _parse_params(raw: Any, doc: LocatedYaml, where: list[str | int]) -> dict[str, str]:
    if raw is None:
        return {}
    file = str(doc.file)
    if not isinstance(raw, dict):
        raise TargetError("must be a mapping of parameter name -> value", file=file, line=doc.line_of(where),
                          key=dotted(where), fix="e.g. params: {collection: lakes}")
    out: dict[str, str] = {}
    for name, value in raw.items():
        here = [*where, name]
        if not str(name).isidentifier():
            raise TargetError("not a parameter name", file=file, line=doc.line_of(here), key=dotted(here)[:80],
                              fix="use letters, digits and '_' (the name the profile declares)")
        if isinstance(value, bool):
            out[str(name)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[str(name)] = str(value)
        else:
            raise TargetError("a parameter's value is text or a number", file=file, line=doc.line_of(here),
                              key=dotted(here), fix="quote it, e.g. bbox: \"-10,40,10,60\"")
    return out


def _target_from_mapping(raw: Any, name: str, doc: LocatedYaml, path: Path, path_base: list[str | int],
                         supplier: str | None, allowed: tuple[str, ...]) -> Target:
    file = str(doc.file)
    if not isinstance(raw, dict):
        raise TargetError("must be a mapping", file=file, line=doc.line_of(path_base), key=dotted(path_base),
                          fix="give base_url, supplier, product, auth")
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            raise TargetError("unknown key", file=file, line=doc.line_of([*path_base, key]),
                              key=dotted([*path_base, key]),
                              fix=f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}")
    if "base_url" not in raw:
        raise TargetError("missing required key 'base_url'", file=file, line=doc.line_of(path_base),
                          key=dotted(path_base), fix="add the supplier system's base URL")
    url = _check_url(str(raw["base_url"]), file=file, line=doc.line_of([*path_base, "base_url"]),
                     key=dotted([*path_base, "base_url"]))
    auth = None
    if raw.get("auth") is not None:
        a = raw["auth"]
        where: list[str | int] = [*path_base, "auth"]
        if not isinstance(a, dict) or a.get("type") not in _AUTH_TYPES or not a.get("env"):
            raise TargetError("auth needs a type and the name of the environment variable holding the secret",
                              file=file, line=doc.line_of(where), key=dotted(where),
                              fix="write {type: api_key, header: X-API-Key, env: VAR}, {type: bearer, env: VAR} or "
                                  "{type: oauth2_client_credentials, token_url: URL, client_id: ID, env: VAR}")
        if a["type"] == "oauth2_client_credentials" and (not a.get("token_url") or not a.get("client_id")):
            raise TargetError("oauth2_client_credentials needs token_url and client_id", file=file,
                              line=doc.line_of(where), key=dotted(where),
                              fix="add token_url (absolute, or a path under base_url) and client_id")
        if "value" in a or "secret" in a or "token" in a:
            raise TargetError("secrets are never written in a targets file", file=file,
                              line=doc.line_of(where), key=dotted(where),
                              fix="put the secret in an environment variable and name it with `env:`")
        default_header = "X-API-Key" if a["type"] == "api_key" else "Authorization"
        auth = AuthSpec(type=a["type"], env=str(a["env"]), header=str(a.get("header", default_header)),
                        token_url=str(a["token_url"]) if a.get("token_url") else None,
                        client_id=str(a["client_id"]) if a.get("client_id") else None,
                        scope=str(a["scope"]) if a.get("scope") else None)
    headers, header_env = _parse_headers(raw.get("headers"), doc, [*path_base, "headers"])
    params = _parse_params(raw.get("params"), doc, [*path_base, "params"])
    timeout_s = raw.get("timeout_s", DEFAULT_TIMEOUT_S)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not 0 < timeout_s <= 3600:
        raise TargetError(f"{timeout_s!r} is not a timeout", file=file, line=doc.line_of([*path_base, "timeout_s"]),
                          key=dotted([*path_base, "timeout_s"]), fix="give seconds, more than 0 and at most 3600")
    reset = _parse_reset(raw.get("reset"), file=file, line=doc.line_of([*path_base, "reset"]),
                         key=dotted([*path_base, "reset"])) if "reset" in raw else None
    restart = _parse_reset(raw.get("restart"), file=file, line=doc.line_of([*path_base, "restart"]),
                           key=dotted([*path_base, "restart"]), hook="restart") if "restart" in raw else None
    tls = _parse_tls(raw["tls"], base=path.parent, file=file, line=doc.line_of([*path_base, "tls"]),
                     key=dotted([*path_base, "tls"])) if "tls" in raw else None
    claims = _parse_claims(raw["claims"], file=file, line=doc.line_of([*path_base, "claims"]),
                           key=dotted([*path_base, "claims"])) if raw.get("claims") is not None else None
    systems: dict[str, Target] = {}
    if raw.get("systems") is not None:
        where = [*path_base, "systems"]
        if not isinstance(raw["systems"], dict):
            raise TargetError("must be a mapping of system name -> {base_url, auth, ...}", file=file,
                              line=doc.line_of(where), key=dotted(where),
                              fix="e.g. systems: {receiver: {base_url: http://127.0.0.1:8001}}")
        for system_name, system_raw in raw["systems"].items():
            system = _target_from_mapping(system_raw, str(system_name), doc, path, [*where, system_name], None,
                                          _SYSTEM_KEYS)
            if system.auth is not None and system.auth.type == "oauth2_client_credentials":
                raise TargetError("another system's auth may be api_key or bearer, not OAuth2", file=file,
                                  line=doc.line_of([*where, system_name, "auth"]),
                                  key=dotted([*where, system_name, "auth"]),
                                  fix="give that system an API key or a bearer token")
            systems[str(system_name)] = system
    return Target(
        name=name, base_url=url, source=f"{file}#{dotted(path_base[1:])}",
        supplier=str(raw.get("supplier", supplier or name)),
        product=raw.get("product"), product_version=str(raw["product_version"]) if raw.get(
            "product_version") is not None else None,
        auth=auth, headers=headers, header_env=header_env, timeout_s=float(timeout_s), reset=reset, restart=restart,
        tls=tls, claims=claims, systems=systems, params=params,
    )


_HEADER_NAME = frozenset("!#$%&'*+.^_`|~-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _parse_headers(raw: Any, doc: LocatedYaml, where: list[str | int]) -> tuple[dict[str, str], dict[str, str]]:
    """(literal headers, header -> environment variable) from `headers:`; refuses what could not be sent as is."""
    if raw is None:
        return {}, {}
    file = str(doc.file)
    if not isinstance(raw, dict) or len(raw) > 50:
        raise TargetError("must be a mapping of at most 50 header names to values", file=file,
                          line=doc.line_of(where), key=dotted(where), fix="e.g. headers: {X-Tenant: north}")
    literal: dict[str, str] = {}
    from_env: dict[str, str] = {}
    for name, value in raw.items():
        here = [*where, name]
        line, key = doc.line_of(here), dotted(here)
        if not 0 < len(name) <= 256 or not set(name) <= _HEADER_NAME:
            raise TargetError("not a header name", file=file, line=line, key=key[:80],
                              fix="use letters, digits and '-' (at most 256 characters)")
        if isinstance(value, dict):
            env = value.get("env")
            if set(value) != {"env"} or not isinstance(env, str) or not env.isidentifier():
                raise TargetError("a header value is text or {env: VAR}", file=file, line=line, key=key,
                                  fix="write the value, or {env: VAR} to read it from an environment variable")
            from_env[name] = env
        elif isinstance(value, str | int | float | bool):
            text = str(value)
            if len(text) > 4096 or any(ch in text for ch in "\r\n\0"):
                raise TargetError("a header value is one line of at most 4096 characters", file=file, line=line,
                                  key=key, fix="shorten the value")
            literal[name] = text
        else:
            raise TargetError("a header value is text or {env: VAR}", file=file, line=line, key=key,
                              fix="write the value, or {env: VAR} to read it from an environment variable")
    return literal, from_env


def _parse_claims(raw: Any, *, file: str, line: int | None, key: str) -> dict[str, list[str]]:
    fix = "write {profiles: [pole-records@1.0.0], requirements: [POLE-SRCH-002]}"
    if not isinstance(raw, dict) or any(k not in ("profiles", "requirements") for k in raw) or any(
            not isinstance(v, list) for v in raw.values()):
        raise TargetError("claims takes lists `profiles` and `requirements`", file=file, line=line, key=key, fix=fix)
    return {k: [str(item) for item in v] for k, v in raw.items()}


def _parse_tls(raw: Any, *, base: Path, file: str, line: int | None, key: str) -> TlsSpec:
    fix = "write {ca: ca.pem, client_cert: client.pem, client_key: client.key} (paths relative to this file)"
    if not isinstance(raw, dict) or not raw or any(k not in _TLS_KEYS for k in raw):
        raise TargetError(f"tls takes {', '.join(_TLS_KEYS)}", file=file, line=line, key=key, fix=fix)
    if ("client_cert" in raw) != ("client_key" in raw):
        raise TargetError("client_cert and client_key go together", file=file, line=line, key=key, fix=fix)
    paths: dict[str, str] = {}
    for name, value in raw.items():
        resolved = (base / str(value)).resolve()
        if not resolved.is_file():
            raise TargetError(f"{name}: no file {resolved}", file=file, line=line, key=f"{key}.{name}", fix=fix)
        paths[name] = str(resolved)
    return TlsSpec(**paths)


def _parse_reset(raw: Any, *, file: str, line: int | None, key: str, hook: str = "reset") -> ResetSpec:
    """A `reset` (or `restart`) hook: {request: "METHOD /path"} or {command: "program args"}."""
    fix = 'write {request: "POST /path/under/base_url"} or {command: "program args"}'
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("request", "command"):
        raise TargetError(f"{hook} needs exactly one of `request` or `command`", file=file, line=line, key=key,
                          fix=fix)
    if "command" in raw:
        if not str(raw["command"]).strip():
            raise TargetError(f"{hook} command is empty", file=file, line=line, key=key, fix=fix)
        return ResetSpec(command=str(raw["command"]))
    method, _, path = str(raw["request"]).strip().partition(" ")
    if method.upper() not in _METHODS or not path.startswith("/"):
        raise TargetError(f"{hook} request '{raw['request']}' is not 'METHOD /path'", file=file, line=line, key=key,
                          fix=fix)
    return ResetSpec(request=(method.upper(), path.strip()))
