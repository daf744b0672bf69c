import logging

from petition_triage.logs import MaskingFilter
from petition_triage.privacy import contact_hash, mask_personal_data


def test_mask_hides_mobile_id_and_landline_numbers():
    text = "联系电话13900001234，身份证630000198503120017，座机0971-8123456。订单号2025031412345678901"
    masked = mask_personal_data(text)
    assert "13900001234" not in masked and "139****1234" in masked
    assert "630000198503120017" not in masked and "630000********0017" in masked
    assert "8123456" not in masked
    assert "2025031412345678901" in masked  # a 19-digit order number is neither


def test_contact_hash_normalises_and_salts():
    assert contact_hash("139-0000-1234", "s") == contact_hash("13900001234", "s")
    assert contact_hash("13900001234", "s") != contact_hash("13900001234", "t")
    assert "13900001234" not in contact_hash("13900001234", "s")


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("petition_triage.test")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("case from %s", "13900001234")
    assert "139****1234" in caplog.text and "13900001234" not in caplog.text


def test_secrets_and_the_database_are_readable_by_the_service_alone(tmp_path):
    import stat

    from petition_triage.config import Settings
    from petition_triage.service.database import Database, migrate

    settings = Settings(home=tmp_path / "home")
    salt, secret = settings.resolved_contact_salt(), settings.resolved_session_secret()
    assert salt and secret and settings.resolved_session_secret() == secret, "made once, then kept"
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "home" / "session_secret") == mode(tmp_path / "home" / "contact_salt") == 0o600
    assert mode(tmp_path / "home") == 0o700
    database = Database(settings.resolved_database_url)
    migrate(database.engine)
    assert mode(tmp_path / "home" / "petition-triage.db") == 0o600
    database.engine.dispose()
    # A secret left readable by an older version is narrowed, its value kept.
    (tmp_path / "home" / "session_secret").chmod(0o644)
    assert settings.resolved_session_secret() == secret and mode(tmp_path / "home" / "session_secret") == 0o600


def test_forged_session_and_csrf_values_with_any_characters_are_refused_not_errors():
    from petition_triage.service.web_session import csrf_ok, csrf_token, issue, read

    secret = "s" * 32
    cookie = issue(secret, 7)
    assert read(secret, cookie) == 7
    assert read(secret, "7.99999999999.签名") is None
    assert read(secret, "7.99999999999.\udcff") is None
    assert csrf_ok(secret, cookie, csrf_token(secret, cookie))
    assert not csrf_ok(secret, cookie, "令牌") and not csrf_ok(secret, cookie, "\udcff")
