# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.


"""A docutils table from rows of text, for the generated doc tables."""

from docutils import nodes


def _row(cells, literal):
    row = nodes.row()
    for index, text in enumerate(cells):
        entry = nodes.entry()
        paragraph = nodes.paragraph()
        if index in literal:
            paragraph += nodes.literal(text=text)
        else:
            paragraph += nodes.Text(text)
        entry += paragraph
        row += entry
    return row


def table(header, widths, rows, css_class):
    """Build a table node.

    :param header: the column titles.
    :param widths: the relative column widths.
    :param rows: (cells, literal) pairs: the cell texts and the indexes of
        the cells shown as literals.
    :param css_class: the HTML class of the table.
    :returns: a docutils table node.
    """
    group = nodes.tgroup(cols=len(header))
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row(header, ())
    group += head
    body = nodes.tbody()
    for cells, literal in rows:
        body += _row(cells, literal)
    group += body
    result = nodes.table(classes=[css_class])
    result += group
    return result
