"""The per-program allow-lists: every program has calls that pass and options that are refused.

A path-valued option or operand is checked by `check_path`; here it refuses anything under a
canary directory, so a test that names the canary shows the path was checked, not ignored.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tools.shell.programs import (
    ProgramSpec,
    check_arguments,
    load_programs,
    value_problem,
)

CANARY = "/srv/canary"
PROGRAMS = load_programs()


def refuse_canary(path: str) -> str | None:
    """The test's path check: anything under the canary directory is outside."""
    return f"{path} is outside the workspace" if path.startswith(CANARY) else None


def reasons(command: str) -> list[str]:
    """Why the command may not run unasked, by its program's allow-list."""
    program, *args = shlex.split(command)
    return check_arguments(PROGRAMS[program], args, refuse_canary)


ALLOWED = [
    # files and text
    "ls -la logs", "ls -lhtr --color=never logs", "ls --sort=time -1", "cat -n app.log",
    "tac app.log", "nl -ba app.log", "rev app.log", "head -n 50 app.log", "head -n5 app.log",
    "head --lines=5 app.log", "head -20 app.log", "tail -n 100 app.log", "tail -c 1K app.log",
    "wc -l app.log", "wc --total=only -l a b", "sort -rn counts.txt", "sort -k2,2 -t, x.csv",
    "sort -S 1K in.txt", "sort -u --parallel=2 in.txt", "sort -c in.txt", "sort --check=quiet a",
    "uniq -c in.txt", "uniq --group=both in.txt", "cut -d: -f1 passwd.txt", "tr a-z A-Z",
    "tr -d '\\r'", "fold -w 80 a", "column -t -s, x.csv", "comm -12 a b", "join -t, a b",
    "paste -sd, a", "strings -n 8 bin", "od -c a", "od -An -tx1 -w16 a", "hexdump -C a",
    "xxd a", "xxd -l 64 -s 16 a", "xxd -ps a", "base64 -d a", "base64 -w0 a",
    "sha256sum a", "sha256sum -c SHA256SUMS", "sha1sum a", "md5sum a", "sha512sum a",
    "sha224sum a", "sha384sum a", "b2sum a", "cksum a", "stat -c %s a", "stat a",
    "file a", "file -b --mime-type a", "file -m magic.mgc a", "readlink -f a", "realpath a",
    "realpath --relative-to=logs a", "basename /a/b.txt .txt", "dirname /a/b", "zcat a.gz",
    # search
    "grep -rn ERROR logs", "grep -C3 -i timeout app.log", "grep -c -e x -e y app.log",
    "grep --color=never -E 'a|b' app.log", "grep -f patterns.txt app.log", "egrep x a",
    "fgrep -v x a", "zgrep ERROR app.log.1.gz", "zegrep 'a|b' a.gz", "zfgrep x a.gz",
    "rg -n TODO src", "rg --files src", "rg -t py -g '*.py' -i import", "rg -e x -e y src",
    "find . -name '*.log' -mtime -1", "find logs -type f -size +10M -print0",
    "find . -maxdepth 2 -newer app.log", "find . -name x -printf '%p %s\\n'",
    "sed -n '1,20p' app.log", "sed -n -e 1p -e 5p app.log", "sed 's/a/b/g' app.log",
    "awk '{print $1}' access.log", "awk -F: '{print $1}' passwd.txt", "gawk 'NR<5' a",
    "mawk '{print}' a", "jq .status status.json", "jq -r '.items[].name' a.json",
    "jq -nr --arg name x '$name'", "jq --rawfile t notes.md -n '$t'",
    "jq --slurpfile d data.json -n '$d'", "jq -n '[range(1e9)]'",
    "diff -u a b", "diff --from-file=a b c", "diff --unified=5 a b", "diff -rq dir1 dir2",
    # basics
    "which git", "pwd", "echo hello", "echo -n x", "printf '%s\\n' a b", "test -f x",
    "[ -d logs ]", "true", "false", "seq 1 10", "seq -w 5", "date", "date +%s",
    "date -u +%FT%T", "date -d yesterday", "date -Iseconds", "date --iso-8601=date",
    "date -f dates.txt", "whoami", "id", "id -un", "hostname", "hostname -f", "hostname -I",
    "uname -a", "uptime", "uptime -p", "nproc", "nproc --all",
    # system state
    "df -h", "df -h /", "df --output=source,pcent /", "du -sh logs", "du -d1 -h .",
    "free -m", "free -h", "vmstat", "vmstat 1 5", "vmstat -s", "iostat -x", "iostat 1 3",
    "mpstat -P ALL 1 2", "lsblk", "lsblk -f /dev/sda", "findmnt", "findmnt -T /",
    "getent hosts example.com", "getent passwd root", "getent group adm",
    "ss -tlnp", "ss -s", "ss -tan state established", "netstat -tlnp", "netstat -rn",
    "ip addr", "ip a", "ip -br a", "ip addr show dev eth0", "ip -s link", "ip link show",
    "ip route", "ip r", "ip route get 1.1.1.1", "ip -j -p route show", "ip neigh",
    "dig example.com", "dig +short example.com MX", "dig -x 8.8.8.8", "host example.com",
    "host -t mx example.com", "nslookup example.com", "nslookup -type=mx example.com",
    "dmesg -T", "dmesg --level=err,warn", "dmesg -T --color=never", "dmesg -F dmesg.txt",
    "journalctl -u nginx -n 100 --no-pager", "journalctl -u nginx --since '1 hour ago'",
    "journalctl -p err -b", "journalctl -k -r", "journalctl -o json -n5",
    "journalctl --output=short-iso -g timeout", "journalctl --list-boots",
    "journalctl -x -t sshd", "journalctl --boot=-1", "journalctl --disk-usage",
    "systemctl status nginx", "systemctl status --no-pager -l nginx", "systemctl show nginx",
    "systemctl show -p ActiveState nginx", "systemctl is-active nginx",
    "systemctl is-enabled nginx", "systemctl is-failed nginx", "systemctl list-units --failed",
    "systemctl list-units --type=service --state=running", "systemctl list-timers --all",
    "systemctl list-unit-files", "systemctl cat nginx",
    # git
    "git status", "git status -sb", "git status --porcelain=v2", "git log --oneline -n 5",
    "git log -5 --stat", "git log --since yesterday --author bob", "git log --format=%H",
    "git log --pretty=oneline --graph --all", "git log -S handler -p", "git show HEAD",
    "git show -s --format=%ci HEAD", "git diff", "git diff HEAD~1 --stat", "git diff --cached",
    "git blame -L 10,20 app.py", "git branch", "git branch -a", "git branch -vv",
    "git branch --show-current", "git branch --contains abc123", "git branch --merged",
    "git remote", "git remote -v", "git remote get-url origin", "git rev-parse HEAD",
    "git rev-parse --abbrev-ref HEAD", "git rev-parse --show-toplevel", "git ls-files",
    "git ls-files -m", "git describe --tags", "git describe --tags --abbrev=0",
    "git stash list", "git reflog", "git reflog -n 5", "git reflog show -5",
    "git shortlog -sn", "git shortlog -sne --all", "git tag", "git tag -l", "git tag --list",
    "git tag --contains abc123", "git tag --points-at HEAD", "git cat-file -p HEAD",
    "git cat-file -t abc123", "git --no-pager log -1", "git -P show", "git grep -n TODO",
    "git rev-list --count HEAD", "git ls-tree -r HEAD", "git version",
    # kubernetes and containers
    "kubectl get pods", "kubectl get pods -A -o wide", "kubectl -n prod get deploy -o yaml",
    "kubectl get pods --namespace=prod -l app=web", "kubectl --context staging get nodes",
    "kubectl describe pod web-1", "kubectl logs web-1", "kubectl logs web-1 -c app --tail=100",
    "kubectl logs deploy/web --since=1h -p", "kubectl logs web-1 --follow=false",
    "kubectl top pod", "kubectl top nodes --sort-by=cpu", "kubectl explain pod.spec",
    "kubectl version --client", "kubectl version", "kubectl api-resources",
    "kubectl api-versions", "kubectl rollout status deploy/web",
    "kubectl rollout status deploy/web --watch=false", "kubectl rollout history deploy/web",
    "kubectl rollout status deploy/web --timeout=60s", "kubectl config current-context",
    "kubectl config get-contexts", "kubectl config view --minify", "kubectl auth can-i get pods",
    "kubectl auth can-i --list", "kubectl events", "kubectl events --for pod/web-1",
    "kubectl cluster-info", "kubectl get events --sort-by=.lastTimestamp",
    "helm list -A", "helm ls -n prod", "helm status web", "helm history web --max 5",
    "helm get values web", "helm get values web -a -o json", "helm get manifest web",
    "helm get notes web", "helm get all web", "helm version",
    "docker ps", "docker ps -a --format '{{.Names}}'", "docker images", "docker logs web",
    "docker logs --tail 100 -t web", "docker version", "docker info",
]  # fmt: skip

REFUSED = [
    # (command, a word the reason contains)
    ("ls --hyperlink=always", "--hyperlink"), ("ls --color /srv/canary", "outside"),
    ("cat --help-me a", "--help-me"), ("tac -x a", "-x"), ("nl -Z a", "-Z"), ("rev -x a", "-x"),
    ("head -n five a", "number"), ("head -n 5 /srv/canary/secret", "outside"),
    ("tail -f app.log", "-f"), ("tail -F app.log", "-F"), ("tail --follow=name a", "--follow"),
    ("tail -n5 -f a", "-f"), ("tail --retry a", "--retry"), ("tail --pid=1 a", "--pid"),
    ("wc --files0-from=/srv/canary/list", "--files0-from"),
    ("sort -o out.txt in.txt", "-o"), ("sort -uo out.txt in.txt", "-o"),
    ("sort --output=out.txt in.txt", "--output"), ("sort --out=x in.txt", "--out"),
    ("sort -S 1K --compress-program=sh payload.txt", "--compress-program"),
    ("sort --files0-from=/srv/canary/x", "--files0-from"), ("sort -T /tmp in.txt", "-T"),
    ("sort --temporary-directory=/tmp a", "--temporary-directory"),
    ("sort --random-source=/srv/canary/x -R a", "--random-source"),
    ("uniq in.txt out.txt", "at most 1"), ("uniq in.txt linkdir/out", "at most 1"),
    ("cut -d, -f1 /srv/canary/x", "outside"), ("tr a b c", "at most 2"), ("tr -x a b", "-x"),
    ("fold -w eighty a", "number"), ("column -t /srv/canary/x", "outside"),
    ("comm a b c", "at most 2"), ("join a b c", "at most 2"), ("paste -x a", "-x"),
    ("strings @/srv/canary/opts", "@file"), ("strings -T bfd a", "-T"),
    ("od -t x1 /srv/canary/x", "outside"), ("hexdump -f fmt.txt a", "-f"),
    ("xxd in.bin out.txt", "at most 1"), ("xxd -R always a", "-R"),
    ("base64 a b", "at most 1"), ("base64 --output=x a", "--output"),
    ("sha256sum /srv/canary/x", "outside"), ("sha1sum -x a", "-x"), ("md5sum -x a", "-x"),
    ("sha512sum -x a", "-x"), ("sha224sum -x a", "-x"), ("sha384sum -x a", "-x"),
    ("b2sum -x a", "-x"), ("cksum -x a", "-x"), ("stat /srv/canary/x", "outside"),
    ("file -C -m magic", "-C"), ("file -m /srv/canary/magic a", "outside"),
    ("file -m ok.mgc:/srv/canary/magic a", "outside"), ("file -f names.txt", "-f"),
    ("file -z a.gz", "-z"), ("file -s /dev/sda", "-s"),
    ("readlink -f /srv/canary/link", "outside"),
    ("realpath --relative-to=/srv/canary a", "outside"),
    ("basename -x a", "-x"), ("dirname -x a", "-x"), ("zcat /srv/canary/x.gz", "outside"),
    # search
    ("grep -R TOPSECRET .", "-R"), ("grep --dereference-recursive x .", "--dereference-recursive"),
    ("grep -f /srv/canary/patterns a", "outside"), ("grep --file=/srv/canary/p a", "outside"),
    ("grep x /srv/canary/secret", "outside"), ("grep --exclude-from=/srv/canary/x x a", "outside"),
    ("grep --colour x /srv/canary", "outside"), ("egrep -R x .", "-R"), ("fgrep -R x .", "-R"),
    ("zgrep -r x .", "-r"), ("zegrep -r x .", "-r"), ("zfgrep -r x .", "-r"),
    ("rg --pre rm x .", "--pre"), ("rg --pre=sh . logs/app.log", "--pre"),
    ("rg --pre-glob '*' --pre cat x", "--pre-glob"), ("rg -z x", "-z"),
    ("rg --search-zip x", "--search-zip"), ("rg --hostname-bin=sh x", "--hostname-bin"),
    ("rg -L x", "-L"), ("rg --files /srv/canary", "outside"), ("rg x /srv/canary", "outside"),
    ("find . -fprint0 find_out.txt", "-fprint0"), ("find . -fprint out", "-fprint"),
    ("find . -fprintf out %p", "-fprintf"), ("find . -fls out", "-fls"),
    ("find . -delete", "-delete"), ("find . -exec rm {} ;", "-exec"),
    ("find . -execdir sh -c x ;", "-execdir"), ("find . -ok rm {} ;", "-ok"),
    ("find -L . -name x", "-L"), ("find . -follow", "-follow"),
    ("find /srv/canary -name x", "outside"), ("find . -newer /srv/canary/x", "outside"),
    ("sed -i s/a/b/ app.py", "-i"), ("sed -n 'w out' a", "sed script"),
    ("sed 's/a/b/e' a", "sed script"), ("sed -f script.sed a", "-f"),
    ("sed -n -e p /srv/canary/p", "outside"),
    ("awk '{system(\"id\")}' a", "awk program"), ("awk '{print > \"out\"}' a", "awk program"),
    ("awk -f prog.awk a", "-f"), ("gawk '@load \"x\"' a", "awk program"),
    ("mawk '{print | \"sh\"}' a", "awk program"),
    ("jq -L /srv/canary -n 'import \"data\" as $d; $d'", "-L"),
    ("jq -L/srv/canary -n 1", "-L"), ("jq -n 'import \"x\" as $x; 1'", "import"),
    ("jq -f prog.jq a.json", "-f"), ("jq --from-file prog.jq a", "--from-file"),
    ("jq --rawfile t /srv/canary/secret -n '$t'", "outside"),
    ("jq --slurpfile d /srv/canary/x -n 1", "outside"), ("jq --arg onlyname", "2 value"),
    ("jq --arg=n v .", "separate"), ("jq . /srv/canary/x.json", "outside"),
    ("diff --from-file=/srv/canary/secret empty.txt", "outside"),
    ("diff --to-file=/srv/canary/x a", "outside"), ("diff a /srv/canary/x", "outside"),
    ("diff -X /srv/canary/x a b", "outside"), ("diff --from=x a", "--from"),
    # basics
    ("which -x git", "-x"), ("pwd /tmp", "no operands"), ("echo -x hi", "-x"),
    ("seq 1 2 3 4", "at most 3"), ("seq a", "number"),
    ("date -s 2000-01-01", "-s"), ("date --set=2000-01-01", "--set"),
    ("date 010112002025", "+FORMAT"),
    ("date -f /srv/canary/x", "outside"), ("date --file=/srv/canary/x", "outside"),
    ("date -f/srv/canary/x", "outside"), ("date -r /srv/canary/x", "outside"),
    ("whoami x", "no operands"), ("id -x", "-x"), ("hostname evil", "no operands"),
    ("hostname -F /srv/canary/name", "-F"), ("hostname -b x", "-b"),
    ("hostname --file=x", "--file"),
    ("true x", "no operands"), ("false --help", "no operands"), ("uname -x", "-x"),
    ("uname foo", "no operands"), ("uptime -x", "-x"), ("nproc 3", "no operands"),
    # system state
    ("df --sync", "--sync"), ("du --files0-from=/srv/canary/x", "--files0-from"),
    ("du -X /srv/canary/x .", "-X"), ("du -L .", "-L"), ("du -sh /srv/canary", "outside"),
    ("free -s 1", "-s"), ("vmstat 1", "0 or 2"), ("vmstat 1 2 3", "0 or 2"),
    ("vmstat x y", "number"),
    ("iostat 1", "0 or 2"), ("mpstat 1", "0 or 2"), ("lsblk -x", "needs"),
    ("findmnt -p", "-p"), ("findmnt --poll", "--poll"), ("findmnt -F /srv/canary/tab", "-F"),
    ("getent shadow root", "subcommand"), ("getent -s files hosts", "-s"), ("getent", "without"),
    ("ss --diag=/srv/canary/victim.db -t", "--diag"), ("ss -D x", "-D"),
    ("ss -K dst 10.0.0.1", "-K"),
    ("ss --kill", "--kill"), ("ss -E", "-E"), ("ss -N other", "-N"),
    ("ss -F /srv/canary/filter", "outside"), ("netstat -c", "-c"),
    ("netstat --continuous", "--continuous"),
    ("ip addr add 10.0.0.1/24 dev eth0", "add"), ("ip link set eth0 down", "set"),
    ("ip route del default", "del"), ("ip route flush all", "flush"), ("ip -batch cmds.txt", "-b"),
    ("ip -b cmds.txt", "-b"), ("ip -force addr", "-f"), ("ip -n other addr", "-n"),
    ("ip netns exec x sh", "exec"), ("ip addr s", "s"), ("ip neigh flush all", "flush"),
    ("dig -f /srv/canary/q", "-f"), ("dig -k key x", "-k"), ("dig -y hmac:n:k x", "-y"),
    ("host -w x", "-w"), ("host a b c", "at most 2"), ("nslookup a b c", "at most 2"),
    ("nslookup -x a", "-x"),
    ("dmesg -C", "-C"), ("dmesg -c", "-c"), ("dmesg --clear", "--clear"), ("dmesg -D", "-D"),
    ("dmesg -E", "-E"), ("dmesg -n 1", "-n"), ("dmesg --console-off", "--console-off"),
    ("dmesg -w", "-w"), ("dmesg --follow", "--follow"), ("dmesg -W", "-W"),
    ("dmesg -F /srv/canary/x", "outside"), ("dmesg --file=/srv/canary/x", "outside"),
    ("journalctl --vacuum-size=1K", "--vacuum-size"), ("journalctl --vacuum-s=1K", "--vacuum-s"),
    ("journalctl --vacuum-time=1s", "--vacuum-time"), ("journalctl --rotate", "--rotate"),
    ("journalctl --rot", "--rot"), ("journalctl --flush", "--flush"),
    ("journalctl --sync", "--sync"),
    ("journalctl --update-catalog", "--update-catalog"),
    ("journalctl --setup-keys", "--setup-keys"),
    ("journalctl -f", "-f"), ("journalctl --follow", "--follow"), ("journalctl -fu nginx", "-f"),
    ("journalctl -D /srv/canary", "-D"), ("journalctl --directory=/srv/canary", "--directory"),
    ("journalctl --file=/srv/canary/x", "--file"), ("journalctl --root=/", "--root"),
    ("journalctl --image=x.img", "--image"), ("journalctl --boot -f", "-f"),
    ("journalctl -n -f", "number"), ("journalctl -o go-template", "not one of"),
    ("journalctl --cursor-file=x", "--cursor-file"), ("journalctl -e", "-e"),
    ("systemctl restart nginx", "restart"), ("systemctl stop nginx", "stop"),
    ("systemctl -H host status", "-H"), ("systemctl --host=x status", "--host"),
    ("systemctl daemon-reload", "daemon-reload"), ("systemctl", "without"),
    # git
    ("git log -1 --pretty=tformat:X --output=/srv/canary/out", "--output"),
    ("git log --out=x", "--out"), ("git log --pretty --output=x", "--output"),
    ("git log --ext-diff -p", "--ext-diff"), ("git log --textconv -p", "--textconv"),
    ("git log -O /srv/canary/order", "-O"), ("git log --show-signature", "--show-signature"),
    ("git show -s --pretty=tformat:X --output=f", "--output"),
    ("git show --ext-diff", "--ext-diff"),
    ("git diff --output=x", "--output"), ("git diff --no-index /srv/canary/a b", "--no-index"),
    ("git diff /srv/canary/a b", "outside"), ("git diff --ext-diff", "--ext-diff"),
    ("git blame --contents=/srv/canary/secret README.md", "--contents"),
    ("git blame -S revs.txt a", "-S"), ("git blame --ignore-revs-file=x a", "--ignore-revs-file"),
    ("git blame /srv/canary/x", "outside"), ("git branch tmpbranch", "no operands"),
    ("git branch -D tmpbranch", "-D"), ("git branch -d x", "-d"),
    ("git branch -f main HEAD~3", "-f"),
    ("git branch -m main old", "-m"), ("git branch -c a b", "-c"), ("git branch -u origin/x", "-u"),
    ("git branch --list 'feat*'", "no operands"), ("git tag v9", "no operands"),
    ("git tag -d v1", "-d"), ("git tag -a v1 -m x", "-a"), ("git remote show origin", "show"),
    ("git remote add x url", "add"), ("git remote update", "update"), ("git stash", "without"),
    ("git stash pop", "pop"), ("git stash drop", "drop"), ("git reflog expire --all", "expire"),
    ("git reflog delete HEAD@{0}", "delete"), ("git cat-file --batch", "--batch"),
    ("git cat-file --textconv HEAD:a", "--textconv"),
    ("git cat-file --filters HEAD:a", "--filters"),
    ("git -C /srv/canary status", "-C"), ("git -c core.fsmonitor=x status", "-c"),
    ("git --git-dir=/srv/canary/.git log", "--git-dir"),
    ("git --work-tree=/ status", "--work-tree"),
    ("git --exec-path=/tmp status", "--exec-path"), ("git -p log", "-p"),
    ("git --paginate log", "--paginate"), ("git push", "push"), ("git checkout x", "checkout"),
    ("git fetch", "fetch"), ("git config --list", "config"),
    ("git ls-files -X /srv/canary/x", "-X"),
    ("git ls-files --exclude-from=x", "--exclude-from"), ("git describe --dirty", "--dirty"),
    ("git grep -O x", "-O"), ("git grep --no-index x", "--no-index"),
    ("git status -uno --x", "--x"),
    ("git shortlog -w", "-w"), ("git rev-parse --git-path=x", "--git-path"), ("git", "without"),
    # kubernetes and containers
    ("kubectl get pods --kubeconfig=kc2.yaml", "--kubeconfig"),
    ("kubectl get pods --server=https://127.0.0.1:18766 --insecure-skip-tls-verify", "--server"),
    ("kubectl get pods -s https://x", "-s"), ("kubectl get pods --token=x", "--token"),
    ("kubectl get pods --as=admin", "--as"), ("kubectl get pods --as-group=x", "--as-group"),
    ("kubectl get pods --cache-dir=/tmp", "--cache-dir"), ("kubectl get pods --user=x", "--user"),
    ("kubectl get pods --cluster=x", "--cluster"), ("kubectl get pods --username=x", "--username"),
    ("kubectl get pods --certificate-authority=x", "--certificate-authority"),
    ("kubectl get pods --client-key=x", "--client-key"), ("kubectl get pods -v=9", "-v"),
    ("kubectl get secret db -o go-template='{{.data.password|base64decode}}'", "not one of"),
    ("kubectl get pods -o jsonpath={.items}", "not one of"),
    ("kubectl get pods -o custom-columns=N:.metadata.name", "not one of"),
    ("kubectl get pods -w", "-w"), ("kubectl get pods --watch", "--watch"),
    ("kubectl get pods --watch true", "--watch"), ("kubectl get pods --watch=true", "not one of"),
    ("kubectl rollout status deploy/x --watch", "--watch"),
    ("kubectl logs -f web-1", "-f"), ("kubectl logs web-1 --follow", "--follow"),
    ("kubectl logs web-1 --follow false", "--follow"), ("kubectl delete pod x", "delete"),
    ("kubectl exec -it x -- sh", "exec"), ("kubectl apply -f x.yaml", "apply"),
    ("kubectl rollout restart deploy/x", "restart"), ("kubectl rollout undo deploy/x", "undo"),
    ("kubectl config view --raw", "--raw"), ("kubectl config view --flatten", "--flatten"),
    ("kubectl config use-context prod", "use-context"),
    ("kubectl cluster-info dump", "no operands"),
    ("kubectl auth can-i --as=x get pods", "--as"), ("kubectl top pod -w", "-w"),
    ("kubectl version -o go-template", "not one of"),
    ("kubectl api-resources -o json", "not one of"),
    ("kubectl api-versions x", "no operands"),
    ("kubectl explain --kubeconfig=x pod", "--kubeconfig"),
    ("kubectl describe pod x --server=y", "--server"), ("kubectl events --watch", "--watch"),
    ("kubectl proxy", "proxy"), ("kubectl foo", "foo"), ("kubectl", "without"),
    ("helm list --kubeconfig=x", "--kubeconfig"),
    ("helm list --kube-apiserver=x", "--kube-apiserver"),
    ("helm list --kube-token=x", "--kube-token"),
    ("helm list --registry-config=x", "--registry-config"),
    ("helm list --repository-config=x", "--repository-config"), ("helm install x y", "install"),
    ("helm uninstall x", "uninstall"), ("helm rollback x 1", "rollback"),
    ("helm plugin list", "plugin"),
    ("helm status a b", "at most 1"), ("helm version --template={{.x}}", "--template"),
    ("docker inspect db", "inspect"), ("docker logs -f web", "-f"),
    ("docker logs --follow web", "--follow"),
    ("docker exec web sh", "exec"), ("docker run x", "run"), ("docker -H tcp://x ps", "-H"),
    ("docker --context x ps", "--context"), ("docker --config /tmp ps", "--config"),
    ("docker stats", "stats"), ("docker ps extra", "no operands"),
]  # fmt: skip


@pytest.mark.parametrize("command", ALLOWED)
def test_allowed(command: str) -> None:
    assert reasons(command) == [], command


@pytest.mark.parametrize(("command", "word"), REFUSED)
def test_refused(command: str, word: str) -> None:
    found = reasons(command)
    assert found, f"{command} was allowed"
    assert any(word in reason for reason in found), (command, found)


# They take no options at all: every word is text, so there is nothing to refuse
TEXT_ONLY = {"test", "[", "printf"}


def test_every_program_has_an_allowed_call_and_a_refused_one() -> None:
    allowed = {shlex.split(c)[0] for c in ALLOWED}
    refused = {shlex.split(c)[0] for c, _ in REFUSED}
    assert set(PROGRAMS) - allowed == set()
    assert set(PROGRAMS) - refused == TEXT_ONLY


@pytest.mark.parametrize("program", sorted(TEXT_ONLY))
def test_text_only_programs_read_option_words_as_text(program: str) -> None:
    assert PROGRAMS[program].operands_only
    assert reasons(f"{program} --output=/srv/canary/x -C -exec ]") == []


def test_path_valued_options_are_checked_whatever_their_spelling() -> None:
    for command in (
        "diff --from-file=/srv/canary/x a",
        "diff --from-file /srv/canary/x a",
        "grep -f/srv/canary/x a",
        "grep -f /srv/canary/x a",
        "grep -rnf /srv/canary/x a",
    ):
        assert any("outside" in r for r in reasons(command)), command


def test_abbreviations_are_unknown_options() -> None:
    for command in ("sort --out=x a", "journalctl --vacuum-s=1K", "journalctl --rot",
                    "git log --out=x", "diff --from=x a"):  # fmt: skip
        assert any("not an option" in r for r in reasons(command)), command


def test_a_value_option_takes_the_next_word_and_an_optional_one_never_does() -> None:
    # --color's value is optional: the next word is an operand, checked as a path
    assert reasons("ls --color /srv/canary") == ["ls /srv/canary is outside the workspace"]
    # -n's value is required: it is the next word, checked as a number
    assert reasons("head -n /srv/canary a") == ["head -n: '/srv/canary' is not a number"]


def test_multi_value_options_take_every_value() -> None:
    spec = ProgramSpec("t", long_values={"pair": "name path"}, operands="none")
    assert check_arguments(spec, ["--pair", "n", "ok"], refuse_canary) == []
    assert check_arguments(spec, ["--pair", "-n", "ok"], refuse_canary) == [
        "t --pair: '-n' is not a name"
    ]
    assert check_arguments(spec, ["--pair", "n", f"{CANARY}/x"], refuse_canary) == [
        f"t --pair: {CANARY}/x is outside the workspace"
    ]
    assert check_arguments(spec, ["--pair", "n"], refuse_canary) == ["t --pair needs 2 value(s)"]
    short = ProgramSpec("t", short_values={"p": "name path"}, operands="none")
    assert check_arguments(short, ["-pn", f"{CANARY}/x"], refuse_canary) == [
        f"t -p: {CANARY}/x is outside the workspace"
    ]


def test_yaml_lists_become_multi_value_kinds() -> None:
    assert PROGRAMS["jq"].long_values["arg"] == "name text"
    assert PROGRAMS["jq"].long_values["rawfile"] == "name path"


def test_word_options_and_values() -> None:
    assert reasons("ip -br -json a") == []
    assert reasons("ip -bjson a") != []  # not split into letters: -b would be -batch
    assert reasons("nslookup -type=mx example.com") == []
    assert reasons("nslookup -type mx example.com") != []


def test_operand_counts_and_operands_only() -> None:
    spec = ProgramSpec("v", operands="number", operand_counts=frozenset({0, 2}))
    assert check_arguments(spec, [], refuse_canary) == []
    assert check_arguments(spec, ["1", "5"], refuse_canary) == []
    assert check_arguments(spec, ["1"], refuse_canary) == [
        "v takes 0 or 2 operand(s) unasked, not 1"
    ]
    test = ProgramSpec("test", operands_only=True, operands="text")
    assert check_arguments(test, ["-f", "x", "-a", "-d", "y"], refuse_canary) == []


def test_script_options_make_every_operand_a_path() -> None:
    # with -e the script is given, so /srv/canary/p is a file to read, not a script
    assert any("outside" in r for r in reasons("sed -n -e p /srv/canary/p"))
    # rg --files has no pattern: its operand is a path
    assert any("outside" in r for r in reasons("rg --files /srv/canary"))


def test_new_value_kinds() -> None:
    assert value_problem("date_format", "+%s", refuse_canary) is None
    assert value_problem("date_format", "010112002025", refuse_canary) is not None
    assert value_problem("jq_filter", ".items[] | .name", refuse_canary) is None
    assert value_problem("jq_filter", 'include "x"; .', refuse_canary) is not None
    assert value_problem("path_list", "a:b", refuse_canary) is None
    assert value_problem("path_list", f"a:{CANARY}/m", refuse_canary) is not None


def test_unknown_keys_in_the_table_are_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "programs.yaml"
    bad.write_text("programs:\n  cat: {shortt: 'n'}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="shortt"):
        load_programs(bad)
