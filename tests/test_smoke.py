def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Sign in" in response.get_data(as_text=True)


def test_counsellor_signs_in_and_sees_my_day(client, login_as):
    login_as("counsellor")
    page = client.get("/")
    assert page.status_code == 200
    assert "My day" in page.get_data(as_text=True)
