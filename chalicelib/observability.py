"""Structured JSON logging and CloudWatch EMF metrics (Powertools for AWS Lambda)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib.config import get_settings

SERVICE = "stock-insights"

# Module singletons, as Powertools intends: one logger and one metrics buffer per container.
logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace="StockInsights")

__all__ = ["logger", "metrics", "MetricUnit", "count", "flush_metrics", "count_with_dimension"]


def count(name: str, value: float = 1, unit: str = MetricUnit.Count) -> None:
    """Add `value` to metric `name` in this invocation's EMF blob."""
    metrics.add_metric(name=name, unit=unit, value=value)


def count_with_dimension(name: str, dimension: str, dimension_value: str, value: float) -> None:
    """Emit one metric with its own dimension (e.g. rejected bars per rule) right away."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=get_settings().metric_namespace,
        default_dimensions={"service": SERVICE, "stage": get_settings().stage},
    ) as metric:
        metric.add_dimension(name=dimension, value=dimension_value)


def flush_metrics() -> None:
    """Write the buffered metrics as one EMF log line (no PutMetricData calls)."""
    if not metrics.metric_set:  # nothing happened worth a metric (e.g. an ignored record)
        return
    settings = get_settings()
    metrics.namespace = settings.metric_namespace
    metrics.set_default_dimensions(stage=settings.stage)
    metrics.flush_metrics()
