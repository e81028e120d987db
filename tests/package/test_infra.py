"""The Azure infrastructure: azure.bicep parses, sets every variable the bot reads, keeps secrets in Key
Vault, and agrees with its parameters file and with the Toolkit's m365agents.yml."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "infra" / "azure.bicep"
PARAMETERS = ROOT / "infra" / "azure.parameters.json"
AGENTS_YML = ROOT / "m365agents.yml"
DEV_ENV = ROOT / "env" / ".env.dev"
TOOLKIT = ROOT / "node_modules" / "@microsoft" / "m365agentstoolkit-cli"

# Variables the code reads that must NOT be app settings in Azure, each with the reason.
NOT_IN_AZURE = {
    "ALLOW_UNAUTHENTICATED": "local mode only: it turns authentication off",
    "BOT_PASSWORD": "BOT_TYPE=UserAssignedMSI has no client secret; the bot refuses one",
    "GRAPH_CLIENT_SECRET": "the managed identity signs in to Microsoft Graph; no client secret",
    "TABLES_CONNECTION_STRING": "keyless TABLES_ENDPOINT instead; the account has shared keys switched off",
    "BOT_OPENID_METADATA_URL": "for sovereign clouds and the tests' token service; the public cloud is the default",
    "BOT_TOKEN_ISSUER": "set together with BOT_OPENID_METADATA_URL, so the same reason",
    "AZURITE_TABLE_PORT": "make dev's local Table Storage emulator",
}
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
ENV_OBJECTS = {"env", "environ", "environment"}


def parser() -> Parser:
    """A tree-sitter parser for Bicep."""
    return Parser(Language(tree_sitter_bicep.language()))


def syntax_problems(source: bytes) -> list[str]:
    """Every ERROR or MISSING node, as 'line:column: what'."""
    problems: list[str] = []

    def walk(node: Node) -> None:
        if node.type == "ERROR" or node.is_missing:
            row, column = node.start_point
            kind = f"missing {node.type}" if node.is_missing else "syntax error"
            problems.append(f"{row + 1}:{column + 1}: {kind} near {source[node.start_byte:node.end_byte][:40]!r}")
        for child in node.children:
            walk(child)

    walk(parser().parse(source).root_node)
    return problems


@pytest.fixture(scope="module")
def tree() -> Node:
    """The parsed azure.bicep."""
    return parser().parse(BICEP.read_bytes()).root_node


def text(node: Node) -> str:
    """A node's source text."""
    return node.text.decode("utf-8")


def string_value(node: Node) -> str | None:
    """The value of a plain string literal node (no interpolation), else None."""
    if node.type != "string" or any(child.type == "interpolation" for child in node.children):
        return None
    return text(node)[1:-1].replace("\\'", "'")


def properties(node: Node, key: str) -> list[Node]:
    """Every `key: value` object property below node, as the value nodes."""
    found: list[Node] = []
    if node.type == "object_property" and node.children and text(node.children[0]) == key:
        found.append(node.children[-1])
    for child in node.children:
        found.extend(properties(child, key))
    return found


def app_settings(tree: Node) -> dict[str, str]:
    """The web app's app settings: name to the source text of the value."""
    (block,) = properties(tree, "appSettings")
    settings: dict[str, str] = {}
    for item in block.children:
        if item.type != "object":
            continue
        (name,) = [string_value(v) for v in properties(item, "name")]
        (value,) = [text(v) for v in properties(item, "value")]
        assert name not in settings, f"app setting {name} is set twice"
        settings[name] = value
    return settings


def template_parameters(tree: Node) -> dict[str, bool]:
    """Parameter name to whether it has a default."""
    params = {}
    for node in tree.children:
        if node.type == "parameter_declaration":
            params[text(node.children[1])] = "=" in [child.type for child in node.children]
    return params


def env_reads(path: Path) -> set[str]:
    """Variable names a module reads: env.get("X"), os.environ["X"], os.environ.get("X"), os.getenv("X"),
    and helpers called as helper(env, "X", ...)."""

    def is_env(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in ENV_OBJECTS) or (
            isinstance(node, ast.Attribute) and node.attr == "environ"
        )

    def literal(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.match(node.value):
            return node.value
        return None

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Subscript) and is_env(node.value):
            names.add(literal(node.slice))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault") and is_env(func.value):
                names.add(literal(node.args[0]))
            elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                names.add(literal(node.args[0]))
            elif len(node.args) >= 2 and is_env(node.args[0]):
                names.add(literal(node.args[1]))
    names.discard(None)
    return names


def variables_the_code_reads() -> set[str]:
    """Every variable read in bot/ and app.py."""
    files = [ROOT / "app.py", *sorted((ROOT / "bot").rglob("*.py"))]
    return set().union(*(env_reads(path) for path in files))


# --- syntax ---------------------------------------------------------------------------------------


def test_azure_bicep_parses_without_errors() -> None:
    assert syntax_problems(BICEP.read_bytes()) == []


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda s: s.replace("allowSharedKeyAccess: false\n", "allowSharedKeyAccess: false,,\n", 1), id="stray commas"),
        pytest.param(lambda s: s.replace("'PYTHON|3.11'", "'PYTHON|3.11", 1), id="unclosed string"),
        pytest.param(lambda s: s.rstrip().rsplit("}", 1)[0] + s[s.index("output BOT_AZURE"):], id="unclosed resource"),
    ],
)
def test_the_syntax_check_finds_a_broken_copy(breakage) -> None:
    source = BICEP.read_text(encoding="utf-8")
    broken = breakage(source)
    assert broken != source
    assert syntax_problems(broken.encode("utf-8")), "a broken template parsed cleanly: the check cannot fail"


# --- app settings ---------------------------------------------------------------------------------


def test_the_scan_finds_the_variables_we_know_about() -> None:
    found = variables_the_code_reads()
    assert {"BOT_ID", "BOT_TYPE", "PORT", "TABLES_ENDPOINT", "JIRA_API_TOKEN", "ALLOW_UNAUTHENTICATED"} <= found


def test_every_variable_the_code_reads_is_an_app_setting(tree: Node) -> None:
    wanted = variables_the_code_reads() - set(NOT_IN_AZURE)
    missing = sorted(wanted - set(app_settings(tree)))
    assert not missing, f"infra/azure.bicep sets no app setting for {missing}"


def test_local_only_variables_are_not_app_settings(tree: Node) -> None:
    assert not set(NOT_IN_AZURE) & set(app_settings(tree))


def test_the_readme_variables_are_app_settings(tree: Node) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    documented = {name for line in table for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])}
    missing = sorted(documented - set(NOT_IN_AZURE) - set(app_settings(tree)))
    assert not missing, f"README documents {missing}, but infra/azure.bicep does not set them"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOT_TYPE", "'UserAssignedMSI'"),
        ("BOT_ID", "identity.properties.clientId"),
        ("AZURE_CLIENT_ID", "identity.properties.clientId"),
        ("BOT_TENANT_ID", "tenant().tenantId"),
        ("HOST", "'0.0.0.0'"),
        ("PORT", "'8000'"),
        ("SCM_DO_BUILD_DURING_DEPLOYMENT", "'true'"),
        ("APPLICATIONINSIGHTS_CONNECTION_STRING", "appInsights.properties.ConnectionString"),
    ],
)
def test_app_setting_values(tree: Node, name: str, value: str) -> None:
    assert app_settings(tree)[name] == value


def test_the_tables_endpoint_is_the_accounts_table_endpoint(tree: Node) -> None:
    assert app_settings(tree)["TABLES_ENDPOINT"] == "'https://${storage.name}.table.${environment().suffixes.storage}'"


@pytest.mark.parametrize(("name", "reference"), [("JIRA_API_TOKEN", "jiraTokenReference"), ("BUGSNAG_WEBHOOK_SECRET", "bugsnagSecretReference")])
def test_secrets_are_key_vault_references(tree: Node, name: str, reference: str) -> None:
    assert reference in app_settings(tree)[name]
    source = BICEP.read_text(encoding="utf-8")
    assert re.search(rf"var {reference} = '@Microsoft\.KeyVault\(SecretUri=\$\{{keyVault\.properties\.vaultUri\}}secrets/", source)


# --- the resources --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("linuxFxVersion", "'PYTHON|3.11'"),
        ("appCommandLine", "'python app.py'"),
        ("healthCheckPath", "'/healthz'"),
        ("alwaysOn", "true"),
        ("httpsOnly", "true"),
        ("ftpsState", "'Disabled'"),
        ("minTlsVersion", "'1.2'"),
        ("allowSharedKeyAccess", "false"),
        ("enableRbacAuthorization", "true"),
        ("msaAppType", "'UserAssignedMSI'"),
        ("msaAppId", "identity.properties.clientId"),
        ("msaAppMSIResourceId", "identity.id"),
        ("msaAppTenantId", "tenant().tenantId"),
        ("channelName", "'MsTeamsChannel'"),
        ("keyVaultReferenceIdentity", "identity.id"),
        ("WorkspaceResourceId", "logs.id"),
        ("endpoint", "'https://${webApp.properties.defaultHostName}/api/messages'"),
    ],
)
def test_resource_settings(tree: Node, key: str, value: str) -> None:
    assert value in [text(node) for node in properties(tree, key)]


def test_resource_types(tree: Node) -> None:
    types = {string_value(node.children[2]).split("@")[0] for node in tree.children if node.type == "resource_declaration"}
    assert {
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/tableServices",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.BotService/botServices",
        "Microsoft.BotService/botServices/channels",
        "Microsoft.Insights/components",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Authorization/roleAssignments",
    } <= types


@pytest.mark.parametrize(
    ("role", "scope"),
    [("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "storage"), ("4633458b-17de-408a-b874-0445c86b69e6", "keyVault")],
    ids=["Storage Table Data Contributor", "Key Vault Secrets User"],
)
def test_the_identity_gets_its_roles(tree: Node, role: str, scope: str) -> None:
    variable = re.search(rf"var (\w+) = '{role}'", BICEP.read_text(encoding="utf-8")).group(1)
    assignments = [
        text(node)
        for node in tree.children
        if node.type == "resource_declaration"
        and string_value(node.children[2]).startswith("Microsoft.Authorization/roleAssignments@")
        and f"roleDefinitions', {variable})" in text(node)
    ]
    assert len(assignments) == 1, f"expected one assignment of role {role}"
    assert f"scope: {scope}\n" in assignments[0]
    assert "principalId: identity.properties.principalId" in assignments[0]


# --- the parameters file --------------------------------------------------------------------------


def test_the_parameters_file_names_only_template_parameters(tree: Node) -> None:
    given = set(json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"])
    unknown = sorted(given - set(template_parameters(tree)))
    assert not unknown, f"infra/azure.parameters.json sets {unknown}, which infra/azure.bicep does not declare"


def test_the_parameters_file_gives_every_parameter_without_a_default(tree: Node) -> None:
    given = set(json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"])
    required = {name for name, has_default in template_parameters(tree).items() if not has_default}
    assert required == {"resourceBaseName"}
    assert required <= given


# --- the Toolkit project ---------------------------------------------------------------------------


def toolkit_placeholders(path: Path) -> set[str]:
    """The ${{NAME}} placeholders in a file."""
    return set(re.findall(r"\$\{\{\s*(\w+)\s*\}\}", path.read_text(encoding="utf-8")))


def test_env_dev_names_every_placeholder_and_is_committed() -> None:
    keys = {line.split("=", 1)[0] for line in DEV_ENV.read_text(encoding="utf-8").splitlines() if "=" in line and not line.startswith("#")}
    for path in (AGENTS_YML, PARAMETERS, ROOT / "appPackage" / "manifest.json"):
        missing = toolkit_placeholders(path) - keys
        assert not missing, f"{path.name} uses {sorted(missing)}, which env/.env.dev does not name"
    outputs = set(re.findall(r"^output (\w+) ", BICEP.read_text(encoding="utf-8"), re.M))
    assert outputs <= keys
    if shutil.which("git") and (ROOT / ".git").exists():
        ignored = subprocess.run(["git", "check-ignore", "-q", str(DEV_ENV)], cwd=ROOT, check=False)
        assert ignored.returncode == 1, "env/.env.dev is git-ignored, but the Toolkit expects it committed"


def test_env_dev_holds_no_secret() -> None:
    for line in DEV_ENV.read_text(encoding="utf-8").splitlines():
        if line.startswith("SECRET_") or re.match(r"^\w*(PASSWORD|TOKEN|SECRET)\w*=.+", line):
            pytest.fail(f"env/.env.dev is committed and must hold no secret: {line.split('=')[0]}")


@pytest.mark.slow
def test_m365agents_yml_follows_the_toolkit_schema(tmp_path: Path) -> None:
    if not TOOLKIT.is_dir():
        pytest.fail(f"{TOOLKIT} is missing: run `make install`")
    script = """
const fs = require('fs'), path = require('path');
const [tk, file] = process.argv.slice(1);
const Ajv = require(require.resolve('ajv', { paths: [tk] }));
const yaml = require(require.resolve('js-yaml', { paths: [tk] }));
const doc = yaml.load(fs.readFileSync(file, 'utf8'));
const schemaFile = path.join(tk, 'resource', 'yaml-schema', String(doc.version), 'yaml.schema.json');
const ajv = new (Ajv.default || Ajv)({ strict: false, allErrors: true });
const ok = ajv.validate(JSON.parse(fs.readFileSync(schemaFile, 'utf8')), doc);
process.stdout.write(JSON.stringify({ ok, doc, errors: ajv.errors }));
"""

    def check(path: Path) -> dict:
        result = subprocess.run(["node", "-e", script, str(TOOLKIT), str(path)], capture_output=True, text=True, check=False, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    report = check(AGENTS_YML)
    assert report["ok"], json.dumps(report["errors"], indent=1)[:2000]
    broken = tmp_path / "m365agents.yml"
    broken.write_text(AGENTS_YML.read_text(encoding="utf-8").replace("artifactFolder:", "artifactFoldr:"), encoding="utf-8")
    assert not check(broken)["ok"], "the schema check accepted a broken m365agents.yml"

    doc = report["doc"]
    uses = {stage: [step["uses"] for step in doc[stage]] for stage in ("provision", "deploy", "publish")}
    assert uses["provision"][:3] == ["teamsApp/create", "arm/deploy", "teamsApp/validateManifest"]
    assert {"teamsApp/zipAppPackage", "teamsApp/update"} <= set(uses["provision"])
    assert uses["deploy"] == ["azureAppService/zipDeploy"]
    assert {"teamsApp/validateAppPackage", "teamsApp/update", "teamsApp/publishAppPackage"} <= set(uses["publish"])
    (template,) = doc["provision"][1]["with"]["templates"]
    assert (ROOT / template["path"]).resolve() == BICEP and (ROOT / template["parameters"]).resolve() == PARAMETERS
    assert doc["deploy"][0]["with"]["artifactFolder"] == "."
