//! `/openapi.json`: the sidecar's API, with the loaded flows as the values of `{flow}`.

use serde_json::{Value, json};

fn errors() -> Value {
    json!({
        "400": {"description": "malformed payload (or the flow's own error reply)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rejection"}}}},
        "401": {"description": "missing or wrong token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "404": {"description": "no such flow", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "413": {"description": "body too large", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "415": {"description": "a content type the flow does not read", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "422": {"description": "the record was rejected by a rule (or the flow's own error reply)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rejection"}}}},
        "503": {"description": "the outbox could not store the record; try again", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    })
}

/// The OpenAPI 3.1 document.
pub fn document(flows: &[String]) -> Value {
    let flow = json!({"name": "flow", "in": "path", "required": true, "schema": {"type": "string", "enum": flows}});
    let mut ingest_responses = errors();
    ingest_responses["200"] = json!({"description": "accepted; the body is the flow's reply (e.g. Delacon's {\"PLA_Call_Id\", \"success\", \"error\"}) or the mapped output (CallerReady's ring request)"});
    ingest_responses["202"] = json!({"description": "accepted and stored for delivery (flows without a reply)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}});
    let ingest = json!({
        "summary": "Receive one record: transform it, store it durably for delivery, answer the sender",
        "parameters": [flow],
        "requestBody": {"description": "the flow's source format: JSON, a form body, or (GET) the query string", "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}}
        }},
        "responses": ingest_responses
    });
    let mut transform_responses = errors();
    transform_responses["200"] = json!({"description": "the mapped output, not delivered", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transformed"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "fieldmap sidecar", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Receives vendor webhooks, maps them with the flows in --mappings, answers each sender in its format, and delivers to the destination without losing a record."},
        "paths": {
            "/in/{flow}": {"get": ingest.clone(), "post": ingest},
            "/transform/{flow}": {"post": {"summary": "Map one record and return the output without delivering it", "parameters": [flow], "responses": transform_responses}},
            "/healthz": {"get": {"summary": "The process is up", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "Flows loaded and the outbox readable", "responses": {"200": {"description": "ready, with pending and dead counts"}, "503": {"description": "the outbox is unavailable"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text exposition format"}}}},
            "/dlq": {"get": {"summary": "Dead letters (needs FIELDMAP_ADMIN_TOKEN as a bearer token)", "responses": {"200": {"description": "the dead letters"}}}},
            "/dlq/{id}": {"get": {"summary": "One dead letter", "responses": {"200": {"description": "the dead letter"}, "404": {"description": "none with this id"}}},
                          "delete": {"summary": "Drop a dead letter", "responses": {"200": {"description": "dropped"}}}},
            "/dlq/{id}/replay": {"post": {"summary": "Deliver a dead letter again (`all` for every one)", "responses": {"200": {"description": "how many were replayed"}}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"status": {"const": "error"}, "reason": {"type": "string"}, "error": {"type": "string"}}},
            "Rejection": {"type": "object", "properties": {"status": {"const": "rejected"}, "reason": {"type": "string"}, "field": {"type": "string"}, "rule": {"type": "string"}, "error": {"type": "string"}}},
            "Accepted": {"type": "object", "properties": {"status": {"const": "accepted"}, "id": {"type": ["string", "null"], "description": "the record's id, also the Idempotency-Key header of its delivery"}, "output": {"type": "object"}}},
            "Transformed": {"type": "object", "properties": {"status": {"const": "ok"}, "output": {"type": "object"}, "encoded": {"type": ["object", "null"], "properties": {"query": {"type": "string"}, "body": {"type": "string"}}}}}
        }}
    })
}
