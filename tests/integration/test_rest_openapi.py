"""GET /api/v1/openapi.json: an OpenAPI 3.1 document that matches the
server. Every /api/v1/ route of gateway/gw_routes.c is documented with the
same method, every documented operation is in the route table, and the
running gateway routes each documented operation (no 404/405)."""
import os
import re
import unittest

from fixture import StackTestCase

ROUTES_C = os.path.join(os.path.dirname(__file__), "..", "..", "gateway", "gw_routes.c")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def route_table():
    """{(METHOD, pattern with {} captures)} of the /api/v1/ routes."""
    with open(ROUTES_C, encoding="utf-8") as f:
        src = f.read()
    return {(m, p) for m, p in re.findall(r'\{\s*"([A-Z]+)",\s*"(/api/v1/[^"]*)"', src)}


def documented(doc):
    out = set()
    for path, item in doc["paths"].items():
        for method in item:
            if method in METHODS:
                out.add((method.upper(), re.sub(r"\{[^}]*\}", "{}", path)))
    return out


class OpenApiTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    def test_document_matches_route_table(self):
        st, h, doc = self.gw.json("GET", "/api/v1/openapi.json")
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("application/json"))
        self.assertEqual(doc["openapi"], "3.1.0")
        routes = route_table()
        self.assertGreaterEqual(len(routes), 10, routes)
        self.assertEqual(documented(doc), routes)

    def test_every_path_parameter_is_declared(self):
        _, _, doc = self.gw.json("GET", "/api/v1/openapi.json")
        for path, item in doc["paths"].items():
            names = set(re.findall(r"\{([^}]*)\}", path))
            for method, op in item.items():
                declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
                self.assertEqual(declared, names, (method, path))
                self.assertIn("responses", op)

    def test_every_documented_operation_is_routed(self):
        _, _, doc = self.gw.json("GET", "/api/v1/openapi.json")
        for method, pattern in documented(doc):
            path = pattern.replace("{}", "1")
            st, _, _ = self.gw.request(method, path, body=b"{}" if method != "GET" else None)
            self.assertNotIn(st, (404, 405), (method, path))

    def test_refs_resolve(self):
        _, _, doc = self.gw.json("GET", "/api/v1/openapi.json")
        text = str(doc)
        for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
            self.assertIn(ref, doc["components"]["schemas"])


if __name__ == "__main__":
    unittest.main()
