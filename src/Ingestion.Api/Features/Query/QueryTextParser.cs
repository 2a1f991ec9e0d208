using System.Text;

namespace Ingestion.Api.Features.Query;

/// <summary>
/// Parses the text language into <see cref="FilterSyntax"/>. Recursive descent over
/// <c>or := and (OR and)*; and := unary (AND unary)*; unary := NOT unary | '(' or ')' | predicate</c>,
/// which gives NOT the tightest binding, then AND, then OR. Keywords are case-insensitive; a word in field
/// position is a field name (checked against the schema later, by the planner).
/// </summary>
public sealed class QueryTextParser
{
    /// <summary>Deeper nesting than this is refused rather than risking the stack on a hostile query.</summary>
    public const int MaxDepth = 64;
    public const int MaxLength = 20_000;

    private enum TokenKind { Word, String, Compare, LParen, RParen, Comma, End }

    private readonly record struct Token(TokenKind Kind, string Text, int Offset)
    {
        public bool Is(string keyword) => Kind == TokenKind.Word && Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);
    }

    private static readonly string[] OperatorWords = ["BETWEEN", "CONTAINS", "STARTS", "IN", "HAS", "EXISTS", "MISSING"];

    private readonly List<Token> _tokens;
    private int _next;
    private int _depth;

    private QueryTextParser(List<Token> tokens) => _tokens = tokens;

    public static FilterSyntax Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            throw new FilterException($"The query has {text.Length:N0} characters; at most {MaxLength:N0} are allowed. Split it, or send the filter as a JSON tree.", SourceRef.Text(MaxLength));
        }
        var parser = new QueryTextParser(Tokenize(text));
        var filter = parser.ParseOr();
        if (parser.Peek.Kind != TokenKind.End)
        {
            var t = parser.Peek;
            throw new FilterException(t.Kind == TokenKind.RParen
                ? "This ')' closes no '('. Remove it, or add the '(' it belongs to."
                : $"Expected AND, OR or the end of the query, found {Describe(t)}. Join conditions with AND or OR.", SourceRef.Text(t.Offset));
        }
        return filter;
    }

    private Token Peek => _tokens[_next];

    private Token Take() => _tokens[_next++];

    private FilterSyntax ParseOr()
    {
        var first = ParseAnd();
        if (!Peek.Is("OR"))
        {
            return first;
        }
        var operands = new List<FilterSyntax> { first };
        while (Peek.Is("OR"))
        {
            Take();
            operands.Add(ParseAnd());
        }
        return new OrSyntax(operands, first.Where);
    }

    private FilterSyntax ParseAnd()
    {
        var first = ParseUnary();
        if (!Peek.Is("AND"))
        {
            return first;
        }
        var operands = new List<FilterSyntax> { first };
        while (Peek.Is("AND"))
        {
            Take();
            operands.Add(ParseUnary());
        }
        return new AndSyntax(operands, first.Where);
    }

    private FilterSyntax ParseUnary()
    {
        if (++_depth > MaxDepth)
        {
            throw new FilterException($"The query nests deeper than {MaxDepth} levels of NOT and parentheses. Flatten it.", SourceRef.Text(Peek.Offset));
        }
        try
        {
            var t = Peek;
            if (t.Is("NOT"))
            {
                Take();
                return new NotSyntax(ParseUnary(), SourceRef.Text(t.Offset));
            }
            if (t.Kind == TokenKind.LParen)
            {
                Take();
                var inner = ParseOr();
                Expect(TokenKind.RParen, $"Expected ')' to close the '(' at offset {t.Offset}");
                return inner;
            }
            return ParsePredicate();
        }
        finally
        {
            _depth--;
        }
    }

    private PredicateSyntax ParsePredicate()
    {
        var field = Take();
        if (field.Kind != TokenKind.Word || field.Is("AND") || field.Is("OR"))
        {
            throw new FilterException($"Expected a field name, found {Describe(field)}. A condition starts with a declared field, as in temperature > 20.", SourceRef.Text(field.Offset));
        }
        var at = SourceRef.Text(field.Offset);
        var opToken = Take();
        var opAt = SourceRef.Text(opToken.Offset);
        if (opToken.Kind == TokenKind.Compare)
        {
            var op = opToken.Text switch
            {
                "=" => FilterOp.Eq,
                "!=" => FilterOp.Ne,
                "<" => FilterOp.Lt,
                "<=" => FilterOp.Le,
                ">" => FilterOp.Gt,
                _ => FilterOp.Ge,
            };
            // '=' and '!=' take a list for a multi-enum set; the planner decides whether a list fits the field.
            return Peek.Kind == TokenKind.LParen && op is FilterOp.Eq or FilterOp.Ne
                ? new PredicateSyntax(field.Text, at, op, opAt, ParseList(), true)
                : new PredicateSyntax(field.Text, at, op, opAt, [ParseLiteral()], false);
        }
        if (opToken.Is("BETWEEN"))
        {
            var low = ParseLiteral();
            if (!Peek.Is("AND"))
            {
                throw new FilterException($"Expected AND after the lower bound of BETWEEN, found {Describe(Peek)}. Write {field.Text} BETWEEN low AND high.", SourceRef.Text(Peek.Offset));
            }
            Take();
            return new PredicateSyntax(field.Text, at, FilterOp.Between, opAt, [low, ParseLiteral()], false);
        }
        if (opToken.Is("CONTAINS"))
        {
            return new PredicateSyntax(field.Text, at, FilterOp.Contains, opAt, [ParseLiteral()], false);
        }
        if (opToken.Is("STARTS"))
        {
            Expect("WITH", "STARTS must be followed by WITH, as in url STARTS WITH \"https://\"");
            return new PredicateSyntax(field.Text, at, FilterOp.StartsWith, opAt, [ParseLiteral()], false);
        }
        if (opToken.Is("IN"))
        {
            return new PredicateSyntax(field.Text, at, FilterOp.In, opAt, ParseList(), true);
        }
        if (opToken.Is("HAS"))
        {
            var which = Take();
            var op = which.Is("ANY") ? FilterOp.HasAny
                : which.Is("ALL") ? FilterOp.HasAll
                : throw new FilterException($"HAS must be followed by ANY or ALL, found {Describe(which)}. Write colors HAS ANY (\"red\", \"blue\").", SourceRef.Text(which.Offset));
            return new PredicateSyntax(field.Text, at, op, opAt, ParseList(), true);
        }
        if (opToken.Is("EXISTS"))
        {
            return new PredicateSyntax(field.Text, at, FilterOp.Exists, opAt, [], false);
        }
        if (opToken.Is("MISSING"))
        {
            return new PredicateSyntax(field.Text, at, FilterOp.Missing, opAt, [], false);
        }
        var hint = opToken.Kind == TokenKind.Word && Spelling.Closest(opToken.Text, OperatorWords) is { } near
            ? $" Did you mean {near}?"
            : "";
        throw new FilterException(
            $"Expected an operator after field '{field.Text}', found {Describe(opToken)}.{hint} Operators: =, !=, <, <=, >, >=, BETWEEN, CONTAINS, STARTS WITH, IN, HAS ANY, HAS ALL, EXISTS, MISSING.",
            opAt);
    }

    private List<Literal> ParseList()
    {
        Expect(TokenKind.LParen, "Expected '(' to start a list of values, as in (\"red\", \"blue\")");
        var items = new List<Literal> { ParseLiteral() };
        while (Peek.Kind == TokenKind.Comma)
        {
            Take();
            items.Add(ParseLiteral());
        }
        Expect(TokenKind.RParen, "Expected ',' or ')' in the list of values");
        return items;
    }

    private Literal ParseLiteral()
    {
        var t = Take();
        if (t.Kind == TokenKind.String)
        {
            return new Literal(LiteralKind.String, t.Text, SourceRef.Text(t.Offset));
        }
        if (t.Kind == TokenKind.Word && IsJsonNumber(t.Text))
        {
            return new Literal(LiteralKind.Number, t.Text, SourceRef.Text(t.Offset));
        }
        throw new FilterException(t.Kind == TokenKind.Word
            ? $"Expected a value, found {Describe(t)}. Quote strings and datetimes (\"Sunny\", \"2024-01-01T00:00:00Z\"); write numbers as in JSON (20, -1.5, 2e3)."
            : $"Expected a value, found {Describe(t)}.", SourceRef.Text(t.Offset));
    }

    private void Expect(TokenKind kind, string message)
    {
        var t = Take();
        if (t.Kind != kind)
        {
            throw new FilterException($"{message}; found {Describe(t)}.", SourceRef.Text(t.Offset));
        }
    }

    private void Expect(string keyword, string message)
    {
        var t = Take();
        if (!t.Is(keyword))
        {
            throw new FilterException($"{message}; found {Describe(t)}.", SourceRef.Text(t.Offset));
        }
    }

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.End => "the end of the query",
        TokenKind.String => $"the string \"{t.Text}\"",
        _ => $"'{t.Text}'",
    };

    /// <summary>Numbers exactly as JSON writes them: no leading '+', no leading zeros, no bare '.'.</summary>
    private static bool IsJsonNumber(string s)
    {
        var i = 0;
        if (i < s.Length && s[i] == '-') i++;
        if (i >= s.Length || !char.IsAsciiDigit(s[i])) return false;
        if (s[i] == '0') i++;
        else while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            if (i >= s.Length || !char.IsAsciiDigit(s[i])) return false;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            if (i >= s.Length || !char.IsAsciiDigit(s[i])) return false;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        }
        return i == s.Length;
    }

    /// <summary>
    /// Words run over letters, digits and <c>_ . + -</c>: that covers field names (which may start with a digit)
    /// and JSON numbers with one rule; which of the two a word is depends on where the parser finds it.
    /// </summary>
    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '+' or '-';

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            var start = i;
            switch (c)
            {
                case '(':
                    tokens.Add(new Token(TokenKind.LParen, "(", i++));
                    continue;
                case ')':
                    tokens.Add(new Token(TokenKind.RParen, ")", i++));
                    continue;
                case ',':
                    tokens.Add(new Token(TokenKind.Comma, ",", i++));
                    continue;
                case '=':
                    tokens.Add(new Token(TokenKind.Compare, "=", i++));
                    continue;
                case '<' or '>':
                    i += i + 1 < text.Length && text[i + 1] == '=' ? 2 : 1;
                    tokens.Add(new Token(TokenKind.Compare, text[start..i], start));
                    continue;
                case '!' when i + 1 < text.Length && text[i + 1] == '=':
                    i += 2;
                    tokens.Add(new Token(TokenKind.Compare, "!=", start));
                    continue;
                case '"':
                    tokens.Add(new Token(TokenKind.String, ReadString(text, ref i), start));
                    continue;
            }
            if (!IsWordChar(c))
            {
                throw new FilterException(c == '\''
                    ? "Strings are written in double quotes, not single quotes: \"Sunny\"."
                    : $"Unexpected character '{c}'. A query is made of field names, operators, double-quoted strings, numbers, parentheses and commas.",
                    SourceRef.Text(i));
            }
            while (i < text.Length && IsWordChar(text[i]))
            {
                i++;
            }
            tokens.Add(new Token(TokenKind.Word, text[start..i], start));
        }
        tokens.Add(new Token(TokenKind.End, "", text.Length));
        return tokens;
    }

    /// <summary>A double-quoted string with JSON's backslash escapes; <paramref name="i"/> ends after the closing quote.</summary>
    private static string ReadString(string text, ref int i)
    {
        var start = i++;
        var sb = new StringBuilder();
        while (i < text.Length)
        {
            var c = text[i++];
            if (c == '"')
            {
                return sb.ToString();
            }
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (i >= text.Length)
            {
                break;
            }
            var e = text[i++];
            switch (e)
            {
                case '"' or '\\' or '/':
                    sb.Append(e);
                    break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u' when i + 4 <= text.Length && ushort.TryParse(text.AsSpan(i, 4), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var code):
                    sb.Append((char)code);
                    i += 4;
                    break;
                default:
                    throw new FilterException($"Unknown escape '\\{e}' in a string. Use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX.", SourceRef.Text(i - 2));
            }
        }
        throw new FilterException("This string has no closing double quote. Add the '\"' that ends it.", SourceRef.Text(start));
    }
}
