"""The profile API's shapes: status codes, Location, errors naming the field."""

from __future__ import annotations


def test_profile_routes(api):
    listed = api.get("/api/profiles").json()
    assert listed["total"] == 4 and all(p["builtin"] for p in listed["items"])
    unknown = api.get("/api/profiles/crypto").json()
    assert (unknown["category"], unknown["version"], unknown["id"]) == ("default", 0, None)

    created = api.post("/api/profiles", json={"category": "Crypto", "min_words": 400,
                                              "model": "crypto-model"})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/profiles/crypto"
    body = created.json()
    assert (body["category"], body["version"], body["builtin"], body["min_words"]) == (
        "crypto", 1, False, 400)
    assert api.post("/api/profiles", json={"category": "crypto"}).status_code == 409

    patched = api.patch("/api/profiles/crypto", json={"model": None, "temperature": 0.4})
    assert patched.status_code == 200
    assert (patched.json()["version"], patched.json()["model"],
            patched.json()["temperature"]) == (2, None, 0.4)
    bad = api.patch("/api/profiles/crypto", json={"min_chars": 10})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "min_chars",
                                     "message": "must be between 50 and 20000, got 10"}]
    assert api.patch("/api/profiles/crypto", json={"colour": 1}).status_code == 422
    assert api.patch("/api/profiles/crypto", json={"min_words": "400"}).status_code == 422
    assert api.get("/api/profiles").json()["total"] == 5

    assert api.delete("/api/profiles/crypto").status_code == 204
    assert api.delete("/api/profiles/crypto").status_code == 404
    assert api.get("/api/profiles/crypto").json()["category"] == "default"
    assert api.get("/api/profiles/Not%20a%20slug").status_code == 422


def test_a_number_of_the_wrong_type_is_one_error_naming_the_field(api):
    """StrictInt | StrictFloat answered `min_words.int: ...; min_words.float: ...`."""
    for value in ("400", True, None):
        for method, url, body in (
            ("PATCH", "/api/profiles/guide", {"min_words": value}),
            ("POST", "/api/profiles", {"category": "crypto", "min_sections": value}),
            ("PATCH", "/api/articles/1", {"content": "# New", "version": value}),
        ):
            if value is None and "version" in body:
                continue  # no version: 428, asking for one
            answer = api.request(method, url, json=body)
            assert answer.status_code == 422, answer.text
            field = next(iter(set(body) - {"category", "content"}))
            assert answer.json()["errors"] == [{"field": field,
                                                "message": "must be a whole number"}], value
    kept = api.patch("/api/profiles/guide", json={"min_words": 400, "min_sections": 3.0})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["min_words"], kept.json()["min_sections"]) == (400, 3)
