//! The stack as a Mermaid flowchart: resources, and their Ref / GetAtt / Sub / DependsOn edges.
