"""Reading a Prometheus text exposition, as the tests that scrape /metrics do."""

import re


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", re.MULTILINE)
    for found_labels, value in pattern.findall(text):
        if all(part in found_labels.split(",") for part in wanted.split(",") if part):
            return float(value)
    return 0.0
