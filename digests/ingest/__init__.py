"""Sources in, ``RawArticle`` out: fetching, format sniffing and one parser per format."""
