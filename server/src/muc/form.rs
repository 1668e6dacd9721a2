//! Data forms (XEP-0004) as the room's forms build and read them: the configuration
//! form, the registration form, the ad-hoc destroy form.

use crate::ns;
use crate::xml::Element;

/// One field of a submitted data form: `var` with one value, no type.
pub fn submitted_field(var: &str, value: &str) -> Element {
    Element::new("field", ns::DATA)
        .with_attr("var", var)
        .with_child(Element::new("value", ns::DATA).with_text(value))
}

/// A field of a form to fill in: its type, label and values.
pub(crate) fn field(var: &str, ty: &str, label: Option<&str>, vals: &[&str]) -> Element {
    let mut f = Element::new("field", ns::DATA)
        .with_attr("var", var)
        .with_attr("type", ty)
        .with_opt_attr("label", label);
    for v in vals {
        f.push(Element::new("value", ns::DATA).with_text(*v));
    }
    f
}

/// An option of a list field.
pub(crate) fn option(label: &str, value: &str) -> Element {
    Element::new("option", ns::DATA)
        .with_attr("label", label)
        .with_child(Element::new("value", ns::DATA).with_text(value))
}

/// The values of one field, in order.
pub(crate) fn values(field: &Element) -> Vec<String> {
    field
        .elements()
        .filter(|e| e.is("value", ns::DATA))
        .map(Element::text)
        .collect()
}
