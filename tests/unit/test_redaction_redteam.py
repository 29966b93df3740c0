"""Red-team rows B1-B5 and B7 (shared/security/redteam-2026-11-30.md), each with new inputs of
its class: what leaks in practice is hidden, and the evidence around it stays visible."""

from __future__ import annotations

import pytest

from core.redact import Redactor, redact

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw"


def hidden(text: str, *secrets: str) -> str:
    out = Redactor().redact(text)
    for secret in secrets:
        assert secret not in out, f"{secret!r} leaked in {out!r}"
    return out


@pytest.mark.parametrize(
    ("text", "secrets"),
    [  # B1 as reported
        ('{"password": "hunter2hunter2"}', ["hunter2hunter2"]),
        ('{"db_password": "hunter2hunter2", "apiKey": "abcd1234efgh5678"}',
         ["hunter2hunter2", "abcd1234efgh5678"]),
        ('{"config": "{\\"password\\": \\"hunter2hunter2\\"}"}', ["hunter2hunter2"]),
        ('"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
         ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        ('"Env": ["STRIPE_KEY=sk_live_51HxYzAbCdEfGhIjKlMnOpQr", "DB_PASS=hunter2hunter2"]',
         ["sk_live_51HxYzAbCdEfGhIjKlMnOpQr", "hunter2hunter2"]),
        # our own: YAML, env, single-quoted JSON-ish, doubly escaped JSON, Python dict
        ("database:\n  host: db\n  password: Wq9-xz!Lm3\n", ["Wq9-xz!Lm3"]),
        ("'client_secret': 'c0ffee-Te4-Xk29Pq'", ["c0ffee-Te4-Xk29Pq"]),
        ('{"a": "{\\"b\\": \\"{\\\\\\"refresh_token\\\\\\": \\\\\\"1//0gRt9zQx\\\\\\"}\\"}"}',
         ["1//0gRt9zQx"]),
        ('{"auth": {"token": "s.Qf1s5zigZ4LX6kT7Ak3"}}', ["s.Qf1s5zigZ4LX6kT7Ak3"]),
    ],
)  # fmt: skip
def test_b1_json_yaml_and_env_credentials(text: str, secrets: list[str]) -> None:
    hidden(text, *secrets)


def test_b2_kubernetes_secret_yaml_json_and_kubeconfig() -> None:
    secret_yaml = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\ndata:\n"
        "  DATABASE_URL: cG9zdGdyZXM6Ly9hZG1pbjpodW50ZXIyQGRiOjU0MzIvYXBw\n"
        "  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t\n  username: YWRtaW4=\n"
        "stringData:\n  note: plain words here\n  cert.pem: |\n    line-one-of-secret\n"
        "    line-two-of-secret\n"
    )
    out = hidden(secret_yaml, "cG9zdGdyZXM6Ly9", "LS0tLS1CRUdJTiBQ", "YWRtaW4=",
                 "plain words here", "line-one-of-secret", "line-two-of-secret")  # fmt: skip
    assert "name: db-credentials" in out
    assert "kind: Secret" in out
    as_json = '{"data": {"api-key": "c2tfbGl2ZV94eHh4eHh4eHh4", "tls.key": "LS0tLS1CRUdJTg=="}}'
    hidden(as_json, "c2tfbGl2ZV94eHh4eHh4eHh4", "LS0tLS1CRUdJTg==")
    kubeconfig = (
        "users:\n- name: admin\n  user:\n"
        "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
        "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==\n"
        "    token: kubeconfig-bearer-Zk29xQ81\n"
    )
    hidden(kubeconfig, "LS0tLS1CRUdJTiBDRVJU", "LS0tLS1CRUdJTiBSU0Eg", "Zk29xQ81")
    # our own: `kubectl get secret -o json` and a ConfigMap's plain data staying visible
    hidden('{"kind": "Secret", "data": {"token": "ZXlKaGJHY2k=", "ca.crt": "Q0FDRVJU"}}',
           "ZXlKaGJHY2k=", "Q0FDRVJU")  # fmt: skip
    config_map = "kind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  APP_MODE: production\n"
    assert redact(config_map) == config_map


@pytest.mark.parametrize(
    "secret",
    [  # B3 as reported (full shapes)
        "sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUvWxYz0123",
        "rk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv",
        "glpat-xYz12AbCdEfGhIjKlMnOp",
        "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/abcdefghijklmnopqrstuvwx",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
        "SK0123456789abcdef0123456789abcdef",
        # our own: Vault, GitHub fine-grained, OpenAI project, Anthropic, Telegram
        "hvs.CAESIJlWh1GkT2Zv3xRkQ8nYx0aBcDeFgHiJ",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789AB",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
        "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0",
    ],
)  # fmt: skip
def test_b3_vendor_keys(secret: str) -> None:
    hidden(f"config dump: value {secret} (loaded)", secret)


def test_b3_azure_aws_table_and_pgp() -> None:
    azure_key = (
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    )
    hidden(f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={azure_key};EndpointSuffix=x",
           azure_key)  # fmt: skip
    hidden(
        "AccountName=a;AccountKey=c2hvcnRlcktleUZvclRlc3Q0MjQy==;", "c2hvcnRlcktleUZvclRlc3Q0MjQy"
    )
    table = (
        "|        GetSessionToken                                  |\n"
        "| AccessKeyId     | ASIAQYLPMN5HHHFPZAM2                  |\n"
        "| SecretAccessKey | wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY |\n"
        "| SessionToken    | FwoGZXIvYXdzEBYaDH8kLmNoPqRsTuVwXyZ0123 |\n"
    )
    out = hidden(table, "ASIAQYLPMN5HHHFPZAM2", "wJalrXUtnFEMI", "FwoGZXIvYXdzEBYaDH8k")
    assert "| SecretAccessKey |" in out
    pgp = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
        "lQOYBF0AAAABCADL2HpBmZ9tqUo1Qz7yxJ0kSg3Wm7ZcCQ8nZ0Jn5o1b9RaYH2Fz\n=a1B2\n"
        "-----END PGP PRIVATE KEY BLOCK-----\nimported 1 key\n"
    )
    out = hidden(pgp, "lQOYBF0AAAABCADL2HpBmZ9tqUo1Qz7")
    assert out.endswith("imported 1 key\n")


@pytest.mark.parametrize(
    ("text", "secret"),
    [  # B4 as reported
        ("Authorization: Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg=="),
        ("Cookie: session=9f8e7d6c5b4a39281706f5e4d3c2b1a0; theme=dark", "9f8e7d6c5b4a3928"),
        ("Set-Cookie: sessionid=Zk81xQ0pLm2; Path=/; HttpOnly", "Zk81xQ0pLm2"),
        ("X-API-Key: 4f9d2c1b8a7e6f5d4c3b2a19", "4f9d2c1b8a7e6f5d4c3b2a19"),
        ("curl -u admin:hunter2 https://api.example/x", "hunter2"),
        ("mysql -uroot -pS3cr3tPass -h db", "S3cr3tPass"),
        ("redis://:R3disPass@cache:6379/0", "R3disPass"),
        ("postgres://admin:ab/cd+ef@db", "ab/cd+ef"),
        ("postgresql://opsbot:p@ss@db:5432/app", "ss@db"),
        ("password='S3cr3t Pass'", "S3cr3t Pass"),
        ('export DB_PASSWORD="hunter2 with space"', "hunter2 with space"),
        ('export API_KEY="abc123def456"', "abc123def456"),
        ("db_pass=hunter2hunter2", "hunter2hunter2"),
        ("<password>hunter2hunter2</password>", "hunter2hunter2"),
        # our own: header variants, CLI forms, DSNs, XML
        ("curl -H 'Authorization: Bearer 9a8b7c6d5e4f3a2b1c0d' https://x", "9a8b7c6d5e4f3a2b1c0d"),
        ("headers = {'Authorization': 'token ghx_notvendor_Zq81'}", "ghx_notvendor_Zq81"),
        ("X-Vault-Token: s.7kQz81LmNoPq", "s.7kQz81LmNoPq"),
        ("Cookie: JSESSIONID=A1B2C3D4E5F6", "A1B2C3D4E5F6"),
        ("curl --user deploy:Tr0ub4dor&3 https://x", "Tr0ub4dor"),
        ("mysqldump -u app -p'Qx9 zz!' shop", "Qx9 zz!"),
        ("sshpass -p Zk9xQ81pw ssh host", "Zk9xQ81pw"),
        ("psql --password Hk29xLmq0 -h db", "Hk29xLmq0"),
        ("amqp://guest:Gu3stPw!@rabbit:5672/", "Gu3stPw!"),
        ("mongodb+srv://app:M0ng0/Pa@ss@cluster0.example.net/db", "M0ng0/Pa@ss"),
        ("<add><apiKey>k3y-Zx81-q</apiKey></add>", "k3y-Zx81-q"),
    ],
)  # fmt: skip
def test_b4_credential_forms(text: str, secret: str) -> None:
    hidden(text, secret)


def test_b4_url_password_does_not_hide_the_host() -> None:
    out = redact("connect postgres://admin:ab/cd+ef@db.internal:5432/app failed")
    assert out == "connect postgres://admin:[REDACTED:url_password:1]@db.internal:5432/app failed"


def test_b5_pem_without_end_line_is_hidden_to_the_end_of_its_body() -> None:
    text = (
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n{PEM_BODY[::-1]}\n[... truncated 40 lines]\n"
    )
    out = hidden(text, PEM_BODY, PEM_BODY[::-1])
    assert out.endswith("\n[... truncated 40 lines]\n")
    crlf = f"-----BEGIN EC PRIVATE KEY-----\r\n{PEM_BODY}\r\n"
    hidden(crlf, PEM_BODY)
    in_json = (
        f'{{"private_key": "-----BEGIN PRIVATE KEY-----\\n{PEM_BODY}\\n'
        '-----END PRIVATE KEY-----\\n"}'
    )
    hidden(in_json, PEM_BODY)
    encrypted = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        f"DEK-Info: AES-128-CBC,AB12\n\n{PEM_BODY}\n"
    )
    hidden(encrypted, PEM_BODY)


def test_b5_jwt_split_over_lines() -> None:
    header, payload, signature = JWT.split(".")
    hidden(f"token:\n{header}.\n{payload}.\n{signature}\ndone", signature, payload)
    wrapped = f"{JWT[:40]}\n{JWT[40:80]}\n{JWT[80:120]}\n{JWT[120:]}\nnext line"
    out = hidden(wrapped, JWT[:40], JWT[40:80], JWT[80:120], JWT[120:])
    assert out.endswith("\nnext line")
    hidden(f"  {header}.{payload}.\n  {signature}", signature)


def test_b7_evidence_stays_visible_and_a_name_is_not_remembered() -> None:
    redactor = Redactor()
    describe = (
        "Volumes:\n  creds:\n    Type:        Secret (a volume populated by a Secret)\n"
        "    SecretName:  db-credentials\n    Optional:    false\n"
        "Events:\n  Warning  FailedMount  kubelet  MountVolume.SetUp failed: "
        'secret "db-credentials" not found\n'
    )
    evidence = [
        describe,
        "HOSTNAME=api-deployment-7f9c8d6b5-x2x9z\n",
        "X_REQUEST_ID=01HZX3K8Y7QW2E5R4T6Y8U0I9O\n",
        "trace: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\n",
        "author: release-bot-automation-account\n",
        "primary_key: customer_order_line_item_id\n",
        "cache_key: user-profile-v2-region-eu\n",
        'raise TokenExpired("token: expired at 2026-11-30T10:00:00Z")\n',
        "-----BEGIN RSA PRIVATE KEY-----\n2026-11-30 10:00:01 INFO rotating keys\n"
        "2026-11-30 10:00:02 ERROR vault unreachable\n-----END RSA PRIVATE KEY-----\n",
        # our own: pod names, git SHAs, UUIDs, digests, token counts, secret references
        "pod/payments-worker-5d8f7b9c4-qx2lp  0/1  CrashLoopBackOff\n",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8\n",
        "request 123e4567-e89b-12d3-a456-426614174000 failed\n",
        "image: ghcr.io/acme/api@sha256:"
        "4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1\n",
        "usage: input_tokens=1234 output_tokens=567 max_tokens=4096\n",
        "password: ${DB_PASSWORD}\napi_key: <your-api-key>\n"
        "token: ****\nsecret_name: payments-db\n",
        "valueFrom:\n  secretKeyRef:\n    name: db-credentials\n    key: password\n",
        "password_min_length=12 token_ttl=3600 session_timeout=30m\n",
        "PWD=/home/app\nPASS: tests/unit/test_x.py::test_y\n",
    ]
    for text in evidence:
        assert redactor.redact(text) == text
    assert redactor.redact("rotate db-credentials via vault") == "rotate db-credentials via vault"
