from amendments.rendering import policy_diff, policy_html


def test_policy_markdown_becomes_html_without_scripts_or_handlers():
    html = policy_html("# Title\n\nText with **bold** and [a link](https://fulfillmen.com).\n\n<script>alert(1)</script>"
                       "\n\n<img src=x onerror=alert(1)>\n\n[bad](javascript:alert(1))")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert 'href="https://fulfillmen.com"' in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html and "<img" not in html


def test_diff_marks_added_and_removed_paragraphs_and_ignores_reflowed_lines():
    old = "# Policy\n\nWe collect your name\nand email.\n\nWe share your IP address."
    new = "# Policy\n\nWe collect your name and email.\n\nWe share nothing for promotions.\n\nYou can object."
    kinds = [(b.kind, b.html) for b in policy_diff(old, new)]
    assert ("same", "<p>We collect your name and email.</p>") in kinds
    assert ("removed", "<p>We share your IP address.</p>") in kinds
    assert ("added", "<p>We share nothing for promotions.</p>") in kinds
    assert ("added", "<p>You can object.</p>") in kinds


def test_a_heading_with_its_text_and_a_list_keep_their_shape_in_the_diff():
    old = "## Who receives your data\nOur carriers.\n\n- name\n- phone"
    new = "## Who receives your data\nOur carriers and one new partner.\n\n- name\n- phone"
    html = [b.html for b in policy_diff(old, new)]
    assert "<h2>Who receives your data</h2>\n<p>Our carriers and one new partner.</p>" in html
    assert "<ul>\n<li>name</li>\n<li>phone</li>\n</ul>" in html
