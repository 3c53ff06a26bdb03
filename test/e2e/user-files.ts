/**
 * The user files of the backup scenario (15-backup.test.ts): Python programs a user's kernel runs
 * to write files (non-ASCII names and contents, a binary blob, one in each storage) and to read
 * their checksums back, and the checksum of a local file.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";

/** Files each user writes through a kernel of their server; the kernel prints their SHA-256. */
export function writeFiles(user: string): string {
  return `
import hashlib, json, os
home = "/home/jovyan"
user = ${JSON.stringify(user)}
os.makedirs(f"{home}/work/données", exist_ok=True)
files = {
    "work/notes.md": f"# Notes of {user}\\n\\nΣ = ∫ f(x) dx, café, naïve, 東京\\n".encode(),
    "work/données/Ωmega-zoë.txt": f"Grüße von {user} ✓\\n".encode(),
    "work/blob.bin": hashlib.sha256(user.encode()).digest() * 32768 + os.urandom(65536),
    "scratch/scratch.txt": f"scratch of {user}\\n".encode(),
    f"shared/from-{user}.txt": f"{user} shares this\\n".encode(),
}
for name, data in files.items():
    with open(f"{home}/{name}", "wb") as f:
        f.write(data)
os.chmod(f"{home}/work/notes.md", 0o600)
print(json.dumps({name: hashlib.sha256(data).hexdigest() for name, data in files.items()}))
`;
}

/** The SHA-256 of the files as the user's server reads them now. */
export function readFiles(names: readonly string[]): string {
  return `
import hashlib, json
print(json.dumps({n: hashlib.sha256(open("/home/jovyan/" + n, "rb").read()).hexdigest() for n in ${JSON.stringify(names)}}))
`;
}

/** The SHA-256 of a local file (hex). */
export async function sha256(file: string): Promise<string> {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
