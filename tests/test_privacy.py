import logging

from petition_triage.logs import MaskingFormatter
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


def test_log_lines_are_masked_tracebacks_and_status_codes_included():
    import io

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(MaskingFormatter("%(message)s"))
    logger = logging.getLogger("petition_triage.test")
    logger.addHandler(handler)
    try:
        logger.warning("case from %s", "13900001234")
        logger.warning('"GET /v1/public/cases/abc/status?code=482913 HTTP/1.1" 404')
        try:
            raise ValueError("text: 身份证630000198503120017，电话13900001234")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "139****1234" in written and "13900001234" not in written
    assert "482913" not in written and "status?code=***" in written
    assert "ValueError" in written and "630000198503120017" not in written


def test_secrets_and_the_database_are_readable_by_the_service_alone(tmp_path):
    import stat

    from petition_triage.config import Settings
    from petition_triage.service.storage.database import Database, migrate

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


def test_forged_session_and_csrf_values_with_any_characters_are_refused_not_errors(tmp_path):
    from petition_triage.service.api.keys import create_key, find_key
    from petition_triage.service.storage.database import Database, migrate
    from petition_triage.service.web.session import csrf_ok, csrf_token, end, key_id_of, start

    database = Database(f"sqlite:///{tmp_path / 'sessions.db'}")
    migrate(database.engine)
    secret = "s" * 32
    with database.sessions() as session:
        key_id = find_key(session, create_key(session, "r", "reviewer")).id
        cookie = start(session, key_id)
        assert key_id_of(session, cookie) == key_id
        for forged in ("7.99999999999.签名", "\udcff", "x" * 5000, ""):
            assert key_id_of(session, forged) is None
        assert csrf_ok(secret, cookie, csrf_token(secret, cookie))
        assert not csrf_ok(secret, cookie, "令牌") and not csrf_ok(secret, cookie, "\udcff")
        end(session, cookie)
        assert key_id_of(session, cookie) is None, "a session ended at sign-out opens nothing"
    database.engine.dispose()


def test_failure_limiter_counts_failures_in_a_sliding_window():
    from petition_triage.service.api.rate_limits import FailureLimiter, StatusGuessLimits

    now = [0.0]
    limiter = FailureLimiter(3, 60, max_keys=2, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.fail("a")
    assert limiter.retry_after("a") == 60
    now[0] = 30
    assert limiter.retry_after("a") == 30
    now[0] = 61
    assert limiter.retry_after("a") is None, "old failures leave the window"
    limiter.fail("b"), limiter.fail("c"), limiter.fail("d")
    assert len(limiter._failures) == 2, "the number of keys kept is bounded"
    limits = StatusGuessLimits(clock=lambda: now[0])
    for case in range(30):
        limits.fail(f"case-{case}", "10.0.0.1")
    assert limits.retry_after("case-new", "10.0.0.1"), "one address guessing across many cases waits too"
    assert limits.retry_after("case-new", "10.0.0.2") is None
