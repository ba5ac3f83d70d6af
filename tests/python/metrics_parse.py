"""Reads OpenMetrics text on stdin with the Prometheus project's own parser
(prometheus_client.openmetrics.parser, strict: it refuses text that breaks
the format) and prints every sample as JSON: [name, labels, value]."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> None:
    text = sys.stdin.read()
    samples = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.append([s.name, s.labels, s.value])
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
