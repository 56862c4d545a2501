def import_new(request, module):
    pass


def export_new(request, module):
    pass
