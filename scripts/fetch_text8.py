"""Download text8 the way the original demo scripts do (mattmahoney.net), unzip it to PATH.

Usage: python scripts/fetch_text8.py data/text8
"""

import io
import os
import sys
import urllib.request
import zipfile

URL = "http://mattmahoney.net/dc/text8.zip"


def main() -> None:
    target = sys.argv[1]
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    print(f"downloading {URL}", file=sys.stderr)
    with urllib.request.urlopen(URL, timeout=60) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    partial = target + ".part"
    with archive.open("text8") as source, open(partial, "wb") as sink:
        while True:
            chunk = source.read(1 << 20)
            if not chunk:
                break
            sink.write(chunk)
    os.replace(partial, target)


if __name__ == "__main__":
    main()
