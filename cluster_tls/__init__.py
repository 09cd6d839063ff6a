"""cluster-tls: TLS on Kubernetes as typed Pulumi components (`cluster_tls.components`), per-environment stacks
(`cluster_tls.stacks`) and an offline runner (`cluster-tls preview|render|diff`)."""

__version__ = "0.2.0"
