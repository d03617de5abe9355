"""LabKey's official Python client (PyPI `labkey`, 4.x) against Attest, unchanged."""

import pytest
from labkey.api_wrapper import APIWrapper
from labkey.exceptions import QueryNotFoundError, RequestAuthorizationError, ServerContextError
from labkey.query import QueryFilter


def wrapper(server, key):
    return APIWrapper(server.host, "synthea", use_ssl=False, api_key=key)


def test_who_am_i_and_select_rows_match_the_csv_then_die_at_sign_out(server, researcher, patients_csv):
    api = wrapper(server, researcher["key"])
    me = api.security.who_am_i()
    assert me.email == researcher["email"]

    result = api.query.select_rows(
        "study", "patients",
        filter_array=[QueryFilter("GENDER", "F"), QueryFilter("STATE", "Nebraska")],
        columns="Id,GENDER,BIRTHDATE,ZIP,HEALTHCARE_EXPENSES",
        max_rows=7,
        sort="BIRTHDATE",
    )
    expected = sorted((p for p in patients_csv if p["GENDER"] == "F" and p["STATE"] == "Nebraska"), key=lambda p: (p["BIRTHDATE"],))
    assert result["rowCount"] == len(expected)
    rows = result["rows"]
    assert len(rows) == 7
    by_id = {p["Id"]: p for p in patients_csv}
    for row in rows:
        csv_row = by_id[row["Id"]]
        assert row["GENDER"] == csv_row["GENDER"] == "F"
        assert row["BIRTHDATE"] == csv_row["BIRTHDATE"] + " 00:00:00.000"
        assert str(row["ZIP"]) == csv_row["ZIP"]
        assert row["HEALTHCARE_EXPENSES"] == float(csv_row["HEALTHCARE_EXPENSES"])
    assert [r["BIRTHDATE"] for r in rows] == sorted(r["BIRTHDATE"] for r in rows)
    assert set(result["rows"][0]) == {"Id", "GENDER", "BIRTHDATE", "ZIP", "HEALTHCARE_EXPENSES"}

    status, _, _ = server.call("POST", "/api/logout", {}, researcher["cookie"])
    assert status == 200
    with pytest.raises(RequestAuthorizationError):
        api.query.select_rows("study", "patients", max_rows=1)
    # a new client with the dead key fails at its first request too
    with pytest.raises(RequestAuthorizationError):
        wrapper(server, researcher["key"]).security.who_am_i()


def test_default_columns_leave_out_phi_above_the_declaration(server, researcher, patients_csv):
    api = wrapper(server, researcher["key"])
    result = api.query.select_rows("study", "patients")  # max_rows=-1: every row
    assert result["rowCount"] == len(patients_csv) == len(result["rows"])
    names = {f["name"] for f in result["metaData"]["fields"]}
    assert "BIRTHDATE" in names and "ZIP" in names  # Limited PHI: declared
    assert not names & {"SSN", "DRIVERS", "PASSPORT", "FIRST", "LAST", "ADDRESS", "LAT", "LON"}
    ssns = {p["SSN"] for p in patients_csv}
    assert not any(v in ssns for row in result["rows"] for v in row.values())
    # naming SSN is refused (403 reaches the caller as ServerContextError), never blanked
    with pytest.raises(ServerContextError) as e:
        api.query.select_rows("study", "patients", columns="Id,SSN")
    assert "403" in str(e.value) and "Restricted PHI" in str(e.value)


def test_errors_map_to_the_clients_exceptions(server, researcher):
    api = wrapper(server, researcher["key"])
    with pytest.raises(QueryNotFoundError):
        api.query.select_rows("study", "no_such_dataset")
    with pytest.raises(QueryNotFoundError):
        api.query.select_rows("lists", "patients")
    with pytest.raises(ServerContextError) as e:
        api.query.select_rows("study", "patients", filter_array=[QueryFilter("INCOME", "rich", "gt")])
    assert "400" in str(e.value)
    with pytest.raises(RequestAuthorizationError):
        wrapper(server, "attest_sk_" + "0" * 49).query.select_rows("study", "patients")


def test_the_official_client_4x_is_what_was_tested():
    from importlib.metadata import version
    assert version("labkey").startswith("4.")


def test_execute_sql_matches_the_csv(server, researcher, patients_csv):
    api = wrapper(server, researcher["key"])
    result = api.query.execute_sql("study", "SELECT GENDER, count(*) AS n FROM patients GROUP BY GENDER ORDER BY GENDER")
    expected = {}
    for p in patients_csv:
        expected[p["GENDER"]] = expected.get(p["GENDER"], 0) + 1
    assert {r["GENDER"]: r["n"] for r in result["rows"]} == expected
    assert result["queryName"] == "sql"

    # Limited PHI, declared: the rows come back and the participants are logged
    rows = api.query.execute_sql("study", "SELECT Id, BIRTHDATE FROM patients WHERE GENDER = 'F' ORDER BY BIRTHDATE", max_rows=3)["rows"]
    females = sorted((p for p in patients_csv if p["GENDER"] == "F"), key=lambda p: p["BIRTHDATE"])[:3]
    assert [(r["Id"], r["BIRTHDATE"][:10]) for r in rows] == [(p["Id"], p["BIRTHDATE"]) for p in females]

    # above the declared level: refused, naming the level
    with pytest.raises(ServerContextError) as e:
        api.query.execute_sql("study", "SELECT substring(SSN, 1, 3) FROM patients")
    assert "403" in str(e.value) and "Restricted PHI" in str(e.value)
