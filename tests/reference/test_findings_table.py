#!/usr/bin/python3
"""README's Findings table is tests/bench/findings_table.py's output on the committed CSVs
(tests/bench/findings/), so every figure in it is the CSVs'."""
import os, subprocess, sys
src = os.environ.get("TGMM_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
readme = open(os.path.join(src, "README.md")).read()
i, j = readme.index("<!-- findings:begin -->\n"), readme.index("<!-- findings:end -->")
table = readme[i + len("<!-- findings:begin -->\n"):j]
out = subprocess.run(["/usr/bin/python3", os.path.join(src, "tests/bench/findings_table.py")],
                     capture_output=True, text=True, check=True).stdout
if out != table:
    for a, b in zip(out.splitlines(), table.splitlines()):
        if a != b:
            print("generated:", a, "\nREADME:   ", b)
    sys.exit("README's Findings table differs from the committed CSVs")
rows = [l for l in table.splitlines() if l.startswith("| F")]
assert len(rows) == 10, len(rows)
assert all("jobs/reproduce.sh" in r for r in rows)
print("ok: README Findings = the committed CSVs (10 rows)")
