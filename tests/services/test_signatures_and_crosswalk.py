"""Signatures (re-authentication, role permission, digest) and the admin-only crosswalk."""

from __future__ import annotations

import json

import pytest

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.canonical import sha256_hex
from pmpath.domain.enums import SignatureMeaning
from pmpath.domain.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from pmpath.domain.models import Case, CrosswalkEntry, Signature
from pmpath.services.crosswalk import link_patient, lookup_patient
from pmpath.services.signatures import sign
from pmpath.services.users import add_user, create_first_admin
from tests import factories

PASSWORD = "correct horse battery"
MRN = "MRN-98765432"


@pytest.fixture
def people(store: Store) -> Store:
    with UnitOfWork(store, actor="setup", reason="setup") as uow:
        for record in (factories.platform(), factories.disease(), factories.patient()):
            uow.add(record)
        uow.commit()
    create_first_admin(store, username="ada", display_name="Ada", password=PASSWORD)
    for username, role in (("rita", "reviewer"), ("sam", "sponsor_author")):
        add_user(
            store,
            actor="ada",
            username=username,
            display_name=username.title(),
            roles=[role],
            password=PASSWORD,
        )
    return store


def test_signature_binds_user_meaning_time_and_record_digest(people: Store) -> None:
    signature = sign(
        people,
        username="rita",
        password=PASSWORD,
        record_ref="platform:PLAT-1",
        meaning=SignatureMeaning.APPROVED,
        reason="platform reviewed",
    )
    expected = factories.platform().model_dump(mode="json")
    canonical = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert signature.record_sha256 == sha256_hex(canonical)
    assert (signature.user_id, signature.printed_name) == ("rita", "Rita")
    assert (signature.record_type, signature.record_id, signature.record_version) == (
        "platform",
        "PLAT-1",
        1,
    )
    assert signature.signed_at.utcoffset() is not None
    with Reader(people) as reader:
        event = reader.audit_events("signature", signature.id)[0]
    assert event.actor == "rita" and event.reason == "platform reviewed"


def test_signing_needs_the_right_password_and_role(people: Store) -> None:
    with pytest.raises(AuthenticationError, match="authentication failed for user 'rita'"):
        sign(
            people,
            username="rita",
            password="wrong password!",
            record_ref="platform:PLAT-1",
            meaning=SignatureMeaning.APPROVED,
        )
    with pytest.raises(AuthenticationError):
        sign(
            people,
            username="nobody",
            password=PASSWORD,
            record_ref="platform:PLAT-1",
            meaning=SignatureMeaning.APPROVED,
        )
    with pytest.raises(PermissionDeniedError, match="lacks permission 'sign:approved'"):
        sign(
            people,
            username="sam",
            password=PASSWORD,
            record_ref="platform:PLAT-1",
            meaning=SignatureMeaning.APPROVED,
        )
    with pytest.raises(InvalidInputError, match="cannot be signed"):
        sign(
            people,
            username="ada",
            password=PASSWORD,
            record_ref="credential:ada",
            meaning=SignatureMeaning.APPROVED,
        )
    with Reader(people) as reader:
        assert not [e for e in reader.audit_events() if e.entity_type == "signature"]


def test_users_need_known_roles_and_long_passwords(people: Store) -> None:
    with pytest.raises(InvalidInputError, match="unknown role 'wizard'"):
        add_user(
            people, actor="ada", username="x", display_name="X", roles=["wizard"], password=PASSWORD
        )
    with pytest.raises(InvalidInputError, match="at least 12 characters"):
        add_user(people, actor="ada", username="x", display_name="X", roles=["admin"], password="s")
    with pytest.raises(ConflictError, match="user 'ada' already exists"):
        add_user(
            people,
            actor="ada",
            username="ada",
            display_name="A",
            roles=["admin"],
            password=PASSWORD,
        )


def test_crosswalk_is_admin_only_and_never_in_clear_in_the_audit_log(people: Store) -> None:
    entry = link_patient(
        people,
        username="ada",
        password=PASSWORD,
        patient_id="PT-0000000001",
        site="Site 1",
        hospital_identifier=MRN,
    )
    assert lookup_patient(people, username="ada", password=PASSWORD, patient_id=entry.id) == entry
    with pytest.raises(PermissionDeniedError, match="crosswalk:read"):
        lookup_patient(people, username="rita", password=PASSWORD, patient_id=entry.id)
    with pytest.raises(PermissionDeniedError, match="crosswalk:write"):
        link_patient(
            people,
            username="sam",
            password=PASSWORD,
            patient_id="PT-0000000001",
            site="Site 2",
            hospital_identifier="MRN-1",
        )
    with Reader(people) as reader:
        with pytest.raises(PermissionDeniedError, match="admins only"):
            reader.get(CrosswalkEntry, entry.id)
        log = json.dumps([e.model_dump(mode="json") for e in reader.audit_events()])
        event = reader.audit_events("crosswalk", entry.id)[0]
    assert MRN not in log
    assert event.after is not None
    assert event.after["hospital_identifier"] == people.redact(MRN)
    assert event.after["hospital_identifier"].startswith("hmac-sha256:")
    # the stand-in is keyed: an unkeyed sha256 of the identifier does not reveal it
    assert sha256_hex(MRN) not in log


def test_crosswalk_needs_an_existing_patient(people: Store) -> None:
    from pmpath.domain.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no patient with id 'PT-NOPE'"):
        link_patient(
            people,
            username="ada",
            password=PASSWORD,
            patient_id="PT-NOPE",
            site="Site 1",
            hospital_identifier=MRN,
        )
    with Reader(people) as reader:
        assert reader.find(Case) == []


def test_the_stores_sign_in_settings_apply_to_every_password_check(people: Store) -> None:
    from pmpath.domain.security import SignInSettings

    people.sign_in = SignInSettings(max_failed=2, delay_seconds=0.0)  # as a workspace sets it
    arguments = {"record_ref": "platform:PLAT-1", "meaning": SignatureMeaning.APPROVED}
    with pytest.raises(AuthenticationError, match=r"failed for user 'rita'$"):
        sign(people, username="rita", password="wrong password 1", **arguments)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match="the account is now locked"):
        sign(people, username="rita", password="wrong password 2", **arguments)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match="locked after 2 failed attempts"):
        sign(people, username="rita", password=PASSWORD, **arguments)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match="locked"):
        lookup_patient(people, username="rita", password=PASSWORD, patient_id="PT-0000000001")
    with Reader(people) as reader:
        events = reader.audit_events()
        assert not reader.find(Signature)
    assert [(e.action.value, e.entity_type) for e in events[-4:]] == [
        ("update", "credential"),
        ("update", "credential"),
        ("refused", "user"),
        ("refused", "user"),
    ]


def test_a_signature_costs_one_argon2id_run(people: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The password is checked by decrypting the signing key (its AES-GCM tag), not by the
    password hash and then the key: one run of argon2id per signature, counted at the library."""
    import argon2._password_hasher
    import argon2.low_level

    runs: list[str] = []
    for module, name in (
        (argon2.low_level, "hash_secret_raw"),
        (argon2._password_hasher, "verify_secret"),
        (argon2._password_hasher, "hash_secret"),
    ):
        original = getattr(module, name)

        def counted(*args: object, _o: object = original, _n: str = name, **kw: object) -> object:
            runs.append(_n)
            return _o(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(module, name, counted)
    sign(
        people,
        username="rita",
        password=PASSWORD,
        record_ref="platform:PLAT-1",
        meaning=SignatureMeaning.APPROVED,
    )
    assert runs == ["hash_secret_raw"]
    runs.clear()
    with pytest.raises(AuthenticationError):  # a wrong password: the key, then the hash
        sign(
            people,
            username="rita",
            password="wrong password!",
            record_ref="platform:PLAT-1",
            meaning=SignatureMeaning.APPROVED,
        )
    assert runs == ["hash_secret_raw", "verify_secret"]


def test_a_key_changed_outside_pmpath_is_not_a_failed_password(people: Store) -> None:
    """The right password with a signing key encrypted under another one: the error names the
    credential, and the attempt is not counted towards the lockout."""
    from pmpath.domain.crypto import encrypt_private_key, generate_signing_key
    from pmpath.domain.errors import PmpathError
    from pmpath.domain.models import Credential

    raw, _ = generate_signing_key()
    with UnitOfWork(people, actor="setup", reason="tamper", privileged=True) as uow:
        credential = uow.require(Credential, "rita")
        blob = encrypt_private_key(raw, "another password here", owner="rita")
        uow.update(credential.model_copy(update={"private_key_encrypted": blob}))
        uow.commit()
    with pytest.raises(PmpathError, match="does not decrypt with the right password"):
        sign(
            people,
            username="rita",
            password=PASSWORD,
            record_ref="platform:PLAT-1",
            meaning=SignatureMeaning.APPROVED,
        )
    with Reader(people, privileged=True) as reader:
        assert reader.require(Credential, "rita").failed_logins_at == []
        assert not reader.find(Signature)


def test_hashing_in_background_runs_on_one_lower_priority_thread() -> None:
    """After ``hash_in_background`` (the server's choice) password hashing runs on one thread
    whose nice value is raised; before, on the caller's thread. Results are unchanged."""
    import os
    import sys
    import threading

    from pmpath.services import hashing

    def where() -> tuple[str, int]:
        tid = threading.get_native_id()
        return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, tid)

    saved = hashing._executor
    try:
        hashing._executor = None
        assert hashing.run_hashing(where) == (threading.current_thread().name, os.nice(0))
        hashing.hash_in_background(nice=7)
        name, nice = hashing.run_hashing(where)
        assert name.startswith("pmpath-hashing")
        if sys.platform == "linux" and os.nice(0) <= 7:
            assert nice == 7
        with pytest.raises(ZeroDivisionError):
            hashing.run_hashing(lambda: 1 / 0)
    finally:
        if hashing._executor is not None and hashing._executor is not saved:
            hashing._executor.shutdown()
        hashing._executor = saved


def test_password_checks_beyond_the_queue_are_refused_at_once(people: Store) -> None:
    """With the hashing thread busy and MAX_WAITING checks waiting, one more signature is
    refused with BusyError before anything is read or written (no audit event, no failure)."""
    import threading

    from pmpath.domain.errors import BusyError
    from pmpath.services import hashing

    saved = hashing._executor
    release = threading.Event()
    hashing._executor = None
    hashing.hash_in_background()
    try:
        waiting = [
            threading.Thread(target=hashing.run_hashing, args=(release.wait,))
            for _ in range(hashing.MAX_WAITING)
        ]
        for thread in waiting:
            thread.start()
        while hashing._slots._value > 0:  # type: ignore[attr-defined]
            threading.Event().wait(0.01)
        with Reader(people) as reader:
            before = reader.audit_head()
        with pytest.raises(BusyError, match="the server is busy"):
            sign(
                people,
                username="rita",
                password=PASSWORD,
                record_ref="platform:PLAT-1",
                meaning=SignatureMeaning.APPROVED,
            )
        with Reader(people) as reader:
            assert reader.audit_head() == before
    finally:
        release.set()
        for thread in waiting:
            thread.join()
        if hashing._executor is not None:
            hashing._executor.shutdown()
        hashing._executor = saved
