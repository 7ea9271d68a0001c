from tests.support import login, make_tenant, make_user


async def test_login_and_see_tenant_home(client):
    tenant = await make_tenant("alpha")
    await make_user("officer@alpha.example", tenant=tenant, roles=("policy_officer",), name="Olga")
    await login(client, "officer@alpha.example")
    response = await client.get("/t/alpha/")
    assert response.status_code == 200
    assert "Olga" in response.text
