"""Structural rules that keep the security properties true as the code grows.

Tenant isolation: the runtime guard in ``portal/core/tenancy.py`` refuses a query on a
tenant-owned table outside a ``TenantScope`` (``tests/test_tenant_guard.py``); these tests are
the early warning that finds such a query in the source before it runs, however the table is
named, and pin what may be global and what may cross tenants.
"""

from __future__ import annotations

import ast
from pathlib import Path

from portal.core.tenancy import QUERY_METHODS, TenantOwned
from portal.piccolo_app import TABLES

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"
SOURCES = sorted([*PORTAL.rglob("*.py"), *(ROOT / "bench").rglob("*.py")])
TENANCY_MODULE = PORTAL / "core" / "tenancy.py"
TENANT_OWNED = {table.__name__ for table in TABLES if issubclass(table, TenantOwned)}

# The tables whose rows belong to no one tenant. A new table without TenantOwned fails
# test_the_global_tables_are_the_known_ones until it is added here, on purpose, with the reason.
GLOBAL_TABLES = {
    "Tenant": "the tenants themselves",
    "User": "one account per person, whatever the tenants they belong to",
    "PasswordResetToken": "belongs to an account",
    "AuditEntry": "outlives the tenant and the person: its tenant key is set null, never cascaded",
    "OutboxMessage": "the development outbox, read by the platform operator",
}

# Every use of the escape from the tenant guard in the code: (file, function, reason). A new one
# fails test_across_tenants_is_used_only_where_pinned until it is added here, on purpose.
ACROSS_TENANTS = {
    ("portal/core/tenancy.py", "own_rows_across_tenants", "a person's own rows in every tenant"),
}

# Piccolo's query classes: building one directly would pass by the guard in the table's methods.
QUERY_CLASSES = {"Select", "Objects", "Count", "Exists", "Update", "Delete", "Insert", "Raw"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


class TableReferences:
    """Which expressions of one module stand for one of ``names`` (table classes), as far as the
    AST can tell: the class by its name or an alias, as a module attribute (``tables.Post``), a
    variable assigned one, an element of a tuple, list, set or dict of them, a loop variable over
    those, a parameter annotated ``type[Post]`` or given one by a call in the same module.
    Names are followed per module, not per function: an early warning errs on the side of seeing
    a table; the runtime guard is the defence."""

    def __init__(self, tree: ast.Module, names: set[str]) -> None:
        self.names = names
        self.tables: set[str] = set()  # local names bound to one of the classes
        self.collections: set[str] = set()  # local names bound to a collection holding one
        self._functions = {
            node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        known = None
        while known != (len(self.tables), len(self.collections)):  # until nothing new is learnt
            known = (len(self.tables), len(self.collections))
            for node in ast.walk(tree):
                self._learn(node)

    def is_table(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.tables
        if isinstance(node, ast.Attribute):
            return node.attr in self.names
        if isinstance(node, ast.Subscript):
            return self.is_collection(node.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            return self.is_collection(node.func.value)
        return False

    def is_collection(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(self.is_table(element) or self.is_collection(element) for element in node.elts)
        if isinstance(node, ast.Dict):
            return any(self.is_table(value) or self.is_collection(value) for value in node.values)
        if isinstance(node, ast.Name):
            return node.id in self.collections
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in {"values", "items"} and self.is_collection(node.func.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            return node.func.id in {"list", "tuple", "set", "sorted", "reversed", "enumerate", "zip"} and any(
                self.is_collection(argument) for argument in node.args)
        return False

    def _bind(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Name):
            if self.is_table(value):
                self.tables.add(target.id)
            elif self.is_collection(value):
                self.collections.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts):
                for each_target, each_value in zip(target.elts, value.elts, strict=True):
                    self._bind(each_target, each_value)
            elif self.is_collection(value):
                self._bind_all(target)

    def _bind_all(self, target: ast.AST) -> None:
        """Every name in a loop target over a collection of tables may be one."""
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                self.tables.add(node.id)
                self.collections.add(node.id)

    def _learn(self, node: ast.AST) -> None:
        if isinstance(node, ast.ImportFrom):
            self.tables.update(alias.asname or alias.name for alias in node.names if alias.name in self.names)
        elif isinstance(node, ast.ClassDef) and node.name in self.names:
            self.tables.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            self._bind(node.target, node.value)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension) and self.is_collection(node.iter):
            self._bind_all(node.target)
        elif isinstance(node, ast.arg) and self._is_table_type(node.annotation):
            self.tables.add(node.arg)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self._functions:
            self._learn_parameters(self._functions[node.func.id], node)

    def _is_table_type(self, annotation: ast.AST | None) -> bool:
        """``type[Post]``, also inside a union."""
        return annotation is not None and any(
            isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "type"
            and (self.is_table(node.slice) or (isinstance(node.slice, ast.Name) and node.slice.id in self.names))
            for node in ast.walk(annotation)
        )

    def _learn_parameters(self, function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> None:
        """A function of this module called with a table: that parameter holds a table."""
        parameters = [*function.args.posonlyargs, *function.args.args]
        for parameter, argument in zip(parameters, call.args, strict=False):
            self._bind(ast.Name(id=parameter.arg), argument)
        for keyword in call.keywords:
            if keyword.arg is not None:
                self._bind(ast.Name(id=keyword.arg), keyword.value)

    def uses(self, tree: ast.Module, methods: set[str] | tuple[str, ...]):
        """``(node, description)`` of every use of ``methods`` on one of the tables, also through
        ``getattr`` with the method's name or with a computed name whose result is called (a
        computed name that is not called looks a column up)."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in methods and self.is_table(node.value):
                yield node, f"{ast.unparse(node.value)}.{node.attr}"
            elif self._getattr_on_table(node):
                name = node.args[1] if len(node.args) > 1 else None
                if isinstance(name, ast.Constant) and name.value in methods:
                    yield node, ast.unparse(node)
            elif isinstance(node, ast.Call) and self._getattr_on_table(node.func):
                name = node.func.args[1] if len(node.func.args) > 1 else None
                if not isinstance(name, ast.Constant):
                    yield node, ast.unparse(node)

    def _getattr_on_table(self, node: ast.AST) -> bool:
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and bool(node.args) and self.is_table(node.args[0]))


def _tenant_owned_queries(path: Path) -> list[str]:
    tree = _tree(path)
    return [
        f"{_where(path, node)} {description}"
        for node, description in TableReferences(tree, TENANT_OWNED).uses(tree, QUERY_METHODS)
    ]


def test_tenant_owned_tables_are_known():
    assert {"Membership", "Invitation", "Panel", "StageTemplateStep"} <= TENANT_OWNED


def test_the_global_tables_are_the_known_ones():
    assert {table.__name__ for table in TABLES if not issubclass(table, TenantOwned)} == set(GLOBAL_TABLES)


def test_every_table_in_the_code_is_registered():
    defined = {
        node.name
        for path in SOURCES
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).rsplit(".", 1)[-1] == "Table" for base in node.bases)
    }
    assert defined == {table.__name__ for table in TABLES}, "add the table to TABLES in portal/piccolo_app.py"


def test_tenant_owned_tables_are_only_queried_through_the_scope():
    offenders = [
        offence for path in SOURCES if path != TENANCY_MODULE for offence in _tenant_owned_queries(path)
    ]
    assert offenders == [], "query tenant-owned tables through TenantScope:\n" + "\n".join(offenders)


TRICKS = '''
from portal.deliberation import tables
from portal.deliberation.tables import Post, Thread as T
from portal.accounts.tables import User

async def direct(): return await Post.select()  # offence
async def alias(): return await T.objects()  # offence
async def module_attribute(): return await tables.Post.count()  # offence
async def variable():
    table = Post
    return await table.delete()  # offence
async def loop():
    for each in (Post, T):
        await each.update({})  # offence
async def lookup():
    return await {"post": Post}["post"].exists()  # offence
async def registry():
    for name, table in {"post": Post}.items():
        await table.exists()  # offence
async def parameter(table: type[Post]): return await table.raw("")  # offence
async def handed(model): return await model.insert()  # offence
async def caller(): return await handed(Post)
async def trick(): return await getattr(Post, "sel" + "ect")()  # offence
async def named_trick(): return await getattr(tables.Post, "delete")()  # offence
async def reference(): query = Post.select; return await query()  # offence
async def scoped(scope): return await scope.select(Post, Post.id).where(Post.thread == 1)
async def global_table(): return await User.select()
async def column(name): return {getattr(Post, name): 1, getattr(Post, "thread"): 2}
'''


def test_the_structural_check_sees_a_table_however_it_is_named():
    tree = ast.parse(TRICKS)
    found = {node.lineno for node, _ in TableReferences(tree, TENANT_OWNED).uses(tree, QUERY_METHODS)}
    expected = {number for number, line in enumerate(TRICKS.splitlines(), 1) if line.endswith("# offence")}
    assert found == expected


def test_piccolo_query_classes_are_built_only_by_the_tables():
    offenders = [
        f"{_where(path, node)} {alias.name}"
        for path in SOURCES
        if path != TENANCY_MODULE
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("piccolo.query")
        and not node.module.startswith("piccolo.query.functions")
        for alias in node.names
        if alias.name in QUERY_CLASSES
    ]
    assert offenders == []


def _calls_by_function(node: ast.AST, function: str = "<module>"):
    """``(enclosing function name, call)`` for every call under ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Call):
            yield function, child
        inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
        yield from _calls_by_function(child, inner)


def _is_escape(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "across_tenants") or (
        isinstance(node, ast.Attribute) and node.attr == "across_tenants")


def test_across_tenants_is_used_only_where_pinned():
    sites = {
        (
            str(path.relative_to(ROOT)),
            function,
            call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else ast.unparse(call),
        )
        for path in SOURCES
        for function, call in _calls_by_function(_tree(path))
        if _is_escape(call.func)
    }
    assert sites == ACROSS_TENANTS


def test_the_escape_is_not_renamed_and_the_permit_stays_private():
    offenders = []
    for path in SOURCES:
        if path == TENANCY_MODULE:
            continue
        tree = _tree(path)
        called = {id(call.func) for _, call in _calls_by_function(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                offenders += [f"{_where(path, node)} imports {alias.name} as {alias.asname}"
                              for alias in node.names if alias.name == "across_tenants" and alias.asname]
                offenders += [f"{_where(path, node)} imports {alias.name}"
                              for alias in node.names if alias.name in {"_permit", "_permitted"}]
            elif _is_escape(node) and id(node) not in called:
                offenders.append(f"{_where(path, node)} across_tenants held, not called")
            elif isinstance(node, ast.Attribute) and node.attr in {"_permit", "_permitted"}:
                offenders.append(f"{_where(path, node)} {node.attr}")
    assert offenders == []


def test_audit_entries_are_never_updated_or_deleted():
    offenders = []
    for path in SOURCES:
        tree = _tree(path)
        offenders += [
            f"{_where(path, node)} {description}"
            for node, description in TableReferences(tree, {"AuditEntry"}).uses(tree, {"update", "delete", "raw"})
        ]
    assert offenders == []


def test_every_tenant_owned_table_has_an_indexed_tenant_key():
    for table in TABLES:
        if issubclass(table, TenantOwned):
            column = table._meta.get_column_by_name("tenant")
            assert column._meta.index, f"{table.__name__}.tenant needs an index"
            assert not column._meta.null, f"{table.__name__}.tenant must not be null"


# Routes anyone may use: logging in, choosing a language, resetting a password, following an
# invitation link, and the public pages. Every other route must declare a guard.
PUBLIC_ROUTES = {
    "/",
    "/accessibility",
    "/healthz",
    "/login",
    "/logout",
    "/language",
    "/password/forgot",
    "/password/reset/{token:str}",
    "/t/{tenant_slug:str}/invitations/accept/{token:str}",
    "/t/{tenant_slug:str}/guardian/{guardian_token:str}",  # a guardian's consent link
    "/t/{tenant_slug:str}/ledger",  # only when the tenant turns on the public advice ledger
    "/t/{tenant_slug:str}/logo/{logo_name:str}",  # the header shows it on the public pages too
}


def test_every_route_is_guarded_or_explicitly_public(app):
    from litestar.routes import HTTPRoute

    unguarded = sorted(
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith("/static")
        for handler in route.route_handlers
        if route.path not in PUBLIC_ROUTES and handler.http_methods != {"OPTIONS"}
        and not [guard for guard in handler.resolve_guards() if guard.func.__name__ != "requires_tenant"]
    )
    assert unguarded == []
