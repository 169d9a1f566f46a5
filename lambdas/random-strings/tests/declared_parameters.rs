//! The API method declares every query parameter the function reads (optional), so the
//! request validator and the function agree on the API's shape.

use random_strings::{PARAM_CHARS, PARAM_LEN, PARAM_NUM};

#[test]
fn the_api_method_declares_every_parameter() {
    let template = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../generator/templates/terraform/modules/api/main.tf"
    );
    let text = std::fs::read_to_string(template).unwrap();
    let declared: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"method.request.querystring."))
        .map(|rest| {
            let (name, required) = rest.split_once('"').unwrap();
            assert_eq!(required.trim(), "= false", "`{name}` must stay optional");
            name
        })
        .collect();
    let mut expected = vec![PARAM_CHARS, PARAM_LEN, PARAM_NUM];
    expected.sort();
    assert_eq!(declared, expected);
}
