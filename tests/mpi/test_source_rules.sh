#!/usr/bin/env bash
# Rules of tgmm's C sources (src/, include/) that other tests rely on, checked on the code with
# comments and string literals removed:
#  - no system() or popen(): no user string ever reaches a shell (gnuplot is started by
#    posix_spawnp with an argument vector);
#  - no asprintf() or vasprintf(): the sanitizer build suppresses leaks under libc's vasprintf
#    (tests/lsan.supp; the fast unwinder's stacks end there), which is safe only while tgmm's own
#    code allocates none that way.
# The checker itself is tried first on a planted file (it must flag it) and on a file that only
# names the functions in a comment and a string (it must not).
source "$(dirname "$0")/lib.sh"
check() { # files... -> prints "file:line: call" for every forbidden call; exit 1 if any
  /usr/bin/python3 - "$@" <<'PY'
import re, sys
bad = re.compile(r"\b(system|popen|asprintf|vasprintf)\s*\(")
code = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
hits = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    # blank comments and literals, keeping the newlines so line numbers stay right
    text = code.sub(lambda m: "".join(c if c == "\n" else " " for c in m.group(0)), text)
    for m in bad.finditer(text):
        hits += 1
        print(f"{path}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(1)}()")
sys.exit(1 if hits else 0)
PY
}
cat >"$WORK/planted.c" <<'EOF'
static int f(char **s) { return asprintf(s, "%d", 1); }
static void g(void) { (void)system ("true"); }
EOF
cat >"$WORK/clean.c" <<'EOF'
/* asprintf(&s, ...) and system("x") named in a comment */
static const char *t = "popen(\"ls\")";  // vasprintf( in a line comment
EOF
out=$(check "$WORK/planted.c")
[[ $? == 1 && $out == *"planted.c:1: asprintf()"* && $out == *"planted.c:2: system()"* ]] &&
  ok "the checker flags a planted asprintf and system call" || fail "checker missed planted calls: $out"
check "$WORK/clean.c" >/dev/null && ok "comments and strings are not calls" || fail "checker flags a comment or string"

mapfile -t files < <(find "$TGMM_SRC/src" "$TGMM_SRC/include" -name '*.[ch]' | sort)
((${#files[@]} > 50)) && ok "${#files[@]} source files" || fail "only ${#files[@]} source files found"
if out=$(check "${files[@]}"); then
  ok "no system(), popen(), asprintf() or vasprintf() in src/ and include/"
else fail "forbidden calls:"$'\n'"$out"; fi
finish
